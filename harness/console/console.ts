/**
 * The console protocol: a byte stream from the target that can be opened,
 * written to and closed. Every console source (QEMU socket, serial port, TCP,
 * IPMI SOL) implements this, and hands what it reads to one sink.
 */
export type ConsoleSink = {
  data(chunk: Buffer): void;
  state(state: 'connected' | 'disconnected', detail?: string): void;
};

export interface ConsoleSource {
  /** Human-readable name of the endpoint, e.g. 'unix:/run/.../console.sock'. */
  readonly endpoint: string;
  open(sink: ConsoleSink): Promise<void>;
  write(data: Buffer | string): void;
  close(): Promise<void>;
  /** Sends a serial break, where the source can (a serial port, a telnet console server); says whether it did. */
  sendBreak?(): Promise<boolean>;
}
