/**
 * Secrets never reach a log or a report: values registered here (from the
 * environment variables a target names) are replaced by '***' in every text
 * the event log, the terminal reporter, the console log and the JUnit writer
 * put out. Streams cut a secret at any byte; `StreamRedactor` holds back the
 * end of a chunk while it could be the start of a secret.
 */
const MASK = '***';
/** Shorter values would mask ordinary text everywhere; they are not accepted as secrets. */
export const MIN_SECRET_LENGTH = 4;

const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET_LENGTH) return;
  secrets.add(value);
}

/** Registers the values of the named environment variables (those that are set). */
export function registerSecretsFromEnv(names: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  for (const name of names) registerSecret(env[name]);
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
}

function ordered(): string[] {
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** `text` with every registered secret, and each of `also` (a password at hand), replaced by '***'. */
export function redact(text: string, also: readonly (string | undefined)[] = []): string {
  const extra = also.filter((value): value is string => Boolean(value));
  if (secrets.size === 0 && extra.length === 0) return text;
  let out = text;
  for (const secret of [...ordered(), ...extra]) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}

/** Every string inside a JSON-like value, redacted. */
export function redactValue<T>(value: T): T {
  if (secrets.size === 0) return value;
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value instanceof Date) return value;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)])) as T;
  return value;
}

/**
 * Redacts a stream of text chunks. `push` returns what can be written now;
 * `flush` the rest. In 'latin1' mode each character stands for one byte (for raw bytes).
 */
export class StreamRedactor {
  private held = '';

  constructor(private readonly encoding: 'utf8' | 'latin1' = 'utf8') {}

  push(chunk: string): string {
    if (secrets.size === 0 && this.held === '') return chunk;
    const all = this.secretsInEncoding();
    let text = this.held + chunk;
    for (const secret of all) if (text.includes(secret)) text = text.split(secret).join(MASK);
    // Hold back the longest tail that is the start of some secret.
    let keep = 0;
    for (const secret of all) {
      for (let n = Math.min(secret.length - 1, text.length); n > keep; n--) {
        if (text.endsWith(secret.slice(0, n))) {
          keep = n;
          break;
        }
      }
    }
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  private secretsInEncoding(): string[] {
    const list = ordered();
    return this.encoding === 'utf8' ? list : list.map((s) => Buffer.from(s, 'utf8').toString('latin1'));
  }
}
