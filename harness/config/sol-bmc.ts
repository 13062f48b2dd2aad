/** The BMC an `ipmi-sol` console talks to, from the target's own fields. */
import { UsageError } from '../core/errors.js';
import type { Target } from './target.js';

export type SolBmc = { host: string; port: number; username: string; passwordEnv: string; cipherSuite: number };

/**
 * The BMC of an `ipmi-sol` console: its own fields, else those of the target's IPMI power driver.
 * Throws a UsageError naming the missing field when neither gives it.
 */
export function solBmcOf(console: Extract<Target['console'], { kind: 'ipmi-sol' }>, power?: Target['power']): SolBmc {
  const bmc = power?.driver === 'ipmi' ? power : undefined;
  const host = console.host ?? bmc?.host;
  const username = console.username ?? bmc?.username;
  const passwordEnv = console.passwordEnv ?? bmc?.passwordEnv;
  const missing = [!host && 'host', !username && 'username', !passwordEnv && 'passwordEnv'].filter(Boolean);
  if (!host || !username || !passwordEnv) {
    throw new UsageError(
      `console 'ipmi-sol' needs ${missing.join(', ')}: set them in the console, or use the 'ipmi' power driver whose BMC it then shares`,
    );
  }
  return {
    host,
    port: console.port ?? (console.host === undefined ? bmc?.port : undefined) ?? 623,
    username,
    passwordEnv,
    cipherSuite: console.cipherSuite ?? bmc?.cipherSuites[0] ?? 3,
  };
}
