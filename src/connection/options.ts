// Reads Ansible's connection variables (with Ansible's names) from a host's merged vars.
import { homedir, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { HostSpec } from '../types.js';

export interface ConnectOptions {
  host: string;
  address: string;
  port: number;
  user: string;
  keyFile?: string;
  knownHosts: string;
  become: boolean;
  becomeUser: string;
  local: boolean;
  timeoutMs: number;
}

const expand = (p: string) => (p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : resolve(p));

export function truthy(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return typeof v === 'string' && /^(yes|true|on|1|y)$/i.test(v.trim());
}

/** `-o UserKnownHostsFile=...` inside ansible_ssh_common_args / ansible_ssh_extra_args. */
function knownHostsFromArgs(args: unknown): string | undefined {
  if (typeof args !== 'string') return undefined;
  return /UserKnownHostsFile[= ]\s*"?([^\s"]+)/.exec(args)?.[1];
}

export function connectOptions(host: HostSpec, defaults: { timeoutMs: number }): ConnectOptions {
  const v = host.vars;
  const str = (k: string) => (v[k] === undefined || v[k] === null ? undefined : String(v[k]));
  const known =
    str('smbdirect_known_hosts') ??
    knownHostsFromArgs(v.ansible_ssh_common_args) ??
    knownHostsFromArgs(v.ansible_ssh_extra_args) ??
    '~/.ssh/known_hosts';
  const timeout = Number(str('ansible_timeout') ?? str('ansible_ssh_timeout') ?? NaN);
  const port = Number(str('ansible_port') ?? str('ansible_ssh_port') ?? 22);
  // loadInventory refuses these already; callers that build hosts themselves get the same guard.
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${host.name}: ansible_port must be a whole number from 1 to 65535`);
  return {
    host: host.name,
    address: str('ansible_host') ?? str('ansible_ssh_host') ?? host.name,
    port,
    user: str('ansible_user') ?? str('ansible_ssh_user') ?? userInfo().username,
    keyFile: str('ansible_ssh_private_key_file') ? expand(str('ansible_ssh_private_key_file')!) : undefined,
    knownHosts: expand(known),
    become: truthy(v.ansible_become ?? v.become),
    becomeUser: str('ansible_become_user') ?? 'root',
    local: str('ansible_connection') === 'local',
    timeoutMs: Number.isFinite(timeout) ? timeout * 1000 : defaults.timeoutMs,
  };
}
