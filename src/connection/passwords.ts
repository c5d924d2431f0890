// Passwords and become settings from a host's merged vars and the command line, as Ansible 2.14
// reads them (pure: tested in test/passwords.test.ts against Ansible's own rules):
//  - a variable beats the command line (-k/-K prompts and password files), wherever the variable was
//    set (inventory, group_vars, host_vars, vault): Ansible gives the CLI password to the plugin as a
//    task key, which its config system ranks below variables; -e beats all, being a variable too;
//  - of several names set on one host, the LAST in the plugin's list wins (config manager's
//    _loop_entries keeps the last one found), not the one set at the higher precedence level.
import type { Vars } from '../types.js';
import { shlexSplit } from '../inventory/shlex.js';
import { registerSecret } from '../secrets.js';

/** The ssh connection plugin's `password` option, in its order (the last set wins). */
export const CONN_PASSWORD_VARS = ['ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password'] as const;
/** The sudo become plugin's `become_pass` option, in its order (the last set wins). */
export const BECOME_PASSWORD_VARS = ['ansible_become_password', 'ansible_become_pass', 'ansible_sudo_pass'] as const;

/** Passwords given on the command line (--ask-pass, --connection-password-file, -K, --become-password-file). */
export interface CliPasswords { conn?: string; become?: string }

export interface Secret { value: string; /** the variable or option it came from, for messages (never the value) */ from: string }

export type BecomeMethod = 'sudo' | 'su';

export interface BecomeSettings {
  method: BecomeMethod;
  user: string;
  /** ansible_become_flags split as a shell would; undefined: the method's defaults */
  flags?: string[];
  password?: Secret;
}

const set = (v: Vars, k: string) => v[k] !== undefined && v[k] !== null;

/** The last of `names` set on the host, else the command line's value; an empty password is none (as in Ansible). */
function pick(v: Vars, names: readonly string[], cli: string | undefined, cliName: string, origins: Origins): Secret | undefined {
  const name = [...names].reverse().find((n) => set(v, n));
  const at = name && origins[name] ? ` (set in ${origins[name]})` : '';
  const found = name ? { value: String(v[name]), from: `${name}${at}` } : cli !== undefined ? { value: cli, from: cliName } : undefined;
  if (!found || found.value === '') return undefined;
  registerSecret(found.value);
  return found;
}

/** Where each variable was set (HostSpec.origins), named in messages. */
type Origins = Record<string, string>;

export function connectionPassword(v: Vars, cli: CliPasswords = {}, origins: Origins = {}): Secret | undefined {
  return pick(v, CONN_PASSWORD_VARS, cli.conn, '--ask-pass / --connection-password-file', origins);
}

/** Become settings; an unsupported method is an error naming the variable (never a silent fallback to sudo). */
export function becomeSettings(v: Vars, cli: CliPasswords = {}, origins: Origins = {}): BecomeSettings {
  const method = set(v, 'ansible_become_method') ? String(v.ansible_become_method) : 'sudo';
  if (method !== 'sudo' && method !== 'su') {
    throw new Error(`ansible_become_method "${method}" is not supported: use sudo or su`);
  }
  const flags = set(v, 'ansible_become_flags') ? shlexSplit(String(v.ansible_become_flags)) : undefined;
  const user = set(v, 'ansible_become_user') ? String(v.ansible_become_user) : 'root';
  return { method, user, ...(flags && { flags }), ...optional('password', pick(v, BECOME_PASSWORD_VARS, cli.become, '--ask-become-pass / --become-password-file', origins)) };
}

const optional = <K extends string, T>(k: K, x: T | undefined) => (x === undefined ? {} : ({ [k]: x } as Record<K, T>));

/** Registers every password a host's vars hold as a secret, so `inventory --list` and errors mask them. */
export function registerPasswordVars(v: Vars): void {
  for (const k of [...CONN_PASSWORD_VARS, ...BECOME_PASSWORD_VARS]) if (set(v, k) && typeof v[k] !== 'object') registerSecret(String(v[k]));
}
