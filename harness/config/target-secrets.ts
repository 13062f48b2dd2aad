/**
 * The secrets a target names: every environment variable a target file
 * points to for a secret (BMC passwords, SNMP communities and keys, the
 * variables a `command` power driver's commands read). Their values are
 * registered for redaction when the target is loaded, before anything starts.
 */
import { registerSecretsFromEnv } from '../core/redact.js';
import type { Target } from './target.js';

export function secretEnvNames(target: Target): string[] {
  const names: (string | undefined)[] = [];
  const power = target.power;
  if (power.driver === 'ipmi') names.push(power.passwordEnv);
  if (power.driver === 'snmp-pdu') {
    if (power.auth.version === '2c') names.push(power.auth.communityEnv);
    else names.push(power.auth.authKeyEnv, power.auth.privKeyEnv);
  }
  if (power.driver === 'command') names.push(...power.secretEnv);
  if (target.console.kind === 'ipmi-sol') names.push(target.console.passwordEnv);
  return [...new Set(names.filter((name): name is string => Boolean(name)))];
}

/** Registers the values of every secret the target names (those set in `env`). */
export function registerTargetSecrets(target: Target, env: NodeJS.ProcessEnv = process.env): void {
  registerSecretsFromEnv(secretEnvNames(target), env);
}
