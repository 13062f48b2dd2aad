/**
 * The files U-Boot says it loaded, read from its console: "Filename 'linux'."
 * then, when the transfer ends, "Bytes transferred = 32956352 (1f6dfc0 hex)".
 * Pure: fed console text, returns each load completed. Works the same whether
 * the commands were typed or ran from a boot script.
 *
 * Tested against: U-Boot 2023.01 tftpboot and dhcp (autoload) output.
 * Reference: U-Boot net/tftp.c messages (Filename, Bytes transferred).
 */
export type UbootLoad = { file: string; bytes: number };

export class UbootLoadReader {
  private partial = '';
  private file: string | undefined;

  feed(text: string): UbootLoad[] {
    const lines = (this.partial + text).split('\n');
    this.partial = (lines.pop() ?? '').slice(-4096);
    const loads: UbootLoad[] = [];
    for (const line of lines) {
      const name = /Filename '([^']*)'\./.exec(line);
      if (name) this.file = name[1];
      const done = /Bytes transferred = (\d+) \(/.exec(line);
      if (done && this.file !== undefined) {
        loads.push({ file: this.file, bytes: Number(done[1]) });
        this.file = undefined;
      }
    }
    return loads;
  }
}
