/**
 * The little telnet a console server port needs: IAC sequences are taken
 * out of the byte stream, option requests are answered minimally (binary
 * both ways, suppress-go-ahead, the server's echo; everything else refused),
 * each option is answered only when its state changes, so two sides never
 * loop. Data going out has IAC doubled; a break is IAC BRK.
 *
 * Tested against: ser2net 4.3 (Debian 12) `telnet` accepter.
 * Reference: RFC 854 (Telnet protocol), RFC 855 (option negotiation),
 * RFC 856 (binary), RFC 857 (echo), RFC 858 (suppress go-ahead),
 * RFC 1143 (avoiding option loops), RFC 2217 (com port option: refused here).
 */
export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const BRK = 243;
export const SE = 240;

export const Option = { binary: 0, echo: 1, suppressGoAhead: 3, comPort: 44 } as const;

/** Options this side agrees to do itself (answer to DO), and wants the server to do (answer to WILL). */
const WE_WILL = new Set<number>([Option.binary, Option.suppressGoAhead]);
const THEY_MAY = new Set<number>([Option.binary, Option.suppressGoAhead, Option.echo]);

type State = 'data' | 'iac' | 'verb' | 'sb' | 'sb-iac' | 'cr';

export class TelnetCodec {
  private state: State = 'data';
  private verb = 0;
  /** Options enabled on our side (we WILL) and on theirs (they WILL). */
  private readonly ours = new Set<number>();
  private readonly theirs = new Set<number>();

  /** `reply` sends negotiation answers back to the server. */
  constructor(private readonly reply: (bytes: Buffer) => void) {}

  /** The data bytes of `chunk`, with every telnet command removed (and answered). */
  decode(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(chunk.length);
    let n = 0;
    const answers: number[] = [];
    for (const byte of chunk) {
      switch (this.state) {
        // biome-ignore lint/suspicious/noFallthroughSwitchClause: after a CR, any byte but NUL is data
        case 'cr':
          this.state = 'data';
          // Outside binary mode, CR is sent as CR NUL or CR LF (RFC 854): drop the NUL.
          if (byte === 0) continue;
        // falls through: after a CR, any byte but NUL is data
        case 'data':
          if (byte === IAC) this.state = 'iac';
          else {
            out[n++] = byte;
            if (byte === 13 && !this.theirs.has(Option.binary)) this.state = 'cr';
          }
          break;
        case 'iac':
          if (byte === IAC) {
            out[n++] = IAC;
            this.state = 'data';
          } else if (byte === WILL || byte === WONT || byte === DO || byte === DONT) {
            this.verb = byte;
            this.state = 'verb';
          } else if (byte === SB) this.state = 'sb';
          else this.state = 'data'; // NOP, GA, AYT, ...: nothing to do
          break;
        case 'verb':
          answers.push(...this.negotiate(this.verb, byte));
          this.state = 'data';
          break;
        case 'sb':
          if (byte === IAC) this.state = 'sb-iac';
          break;
        case 'sb-iac':
          this.state = byte === SE ? 'data' : 'sb';
          break;
      }
    }
    if (answers.length > 0) this.reply(Buffer.from(answers));
    return out.subarray(0, n);
  }

  /** Data for the wire: IAC doubled, and outside binary mode a CR not followed by LF sent as CR NUL (RFC 854). */
  encode(data: Buffer): Buffer {
    const binary = this.ours.has(Option.binary);
    if (!data.includes(IAC) && (binary || !data.includes(13))) return data;
    const out: number[] = [];
    for (let i = 0; i < data.length; i++) {
      const byte = data[i]!;
      out.push(byte);
      if (byte === IAC) out.push(IAC);
      else if (byte === 13 && !binary && data[i + 1] !== 10) out.push(0);
    }
    return Buffer.from(out);
  }

  /** Whether the server has agreed to send binary (8-bit clean, no CR NUL). */
  get receivingBinary(): boolean {
    return this.theirs.has(Option.binary);
  }

  private negotiate(verb: number, option: number): number[] {
    switch (verb) {
      case DO:
        if (this.ours.has(option)) return [];
        if (WE_WILL.has(option)) {
          this.ours.add(option);
          return [IAC, WILL, option];
        }
        return [IAC, WONT, option];
      case DONT:
        if (!this.ours.has(option)) return [];
        this.ours.delete(option);
        return [IAC, WONT, option];
      case WILL:
        if (this.theirs.has(option)) return [];
        if (THEY_MAY.has(option)) {
          this.theirs.add(option);
          return [IAC, DO, option];
        }
        return [IAC, DONT, option];
      case WONT:
        if (!this.theirs.has(option)) return [];
        this.theirs.delete(option);
        return [IAC, DONT, option];
      default:
        return [];
    }
  }
}

export const TELNET_BREAK = Buffer.from([IAC, BRK]);
