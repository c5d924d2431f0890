// Reads Ansible's connection variables (with Ansible's names) from a host's merged vars, and the
// OpenSSH client configuration they lead to (ssh-config.ts), the way Ansible's ssh connection does:
// `ssh [ansible_ssh_args] -o Port= -o IdentityFile= -o User= [ansible_ssh_common_args]
// [ansible_ssh_extra_args] DESTINATION`, where DESTINATION is ansible_host (else the inventory name)
// and the first value of a keyword wins, so the inventory variables beat the config files.
import { hostname, homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { shlexSplit } from '../inventory/shlex.js';
import type { HostSpec } from '../types.js';
import { truthy } from '../truthy.js';
import { resolveRoute, type Route } from './jump.js';
import { chooseClient, type ClientChoice } from './client-choice.js';
import { becomeSettings, connectionPassword, type BecomeMethod, type CliPasswords, type Secret } from './passwords.js';
import { parseSshArgs, resolveSshConfig, type Directive, type ResolveContext, type ResolvedSsh, type Source } from './ssh-config.js';

export interface ConnectOptions {
  host: string;
  address: string;
  port: number;
  user: string;
  /** Identity files named by the inventory or the config, tried first, in order, then the agent. */
  keyFiles: string[];
  /** When none is named: the agent first, then these (OpenSSH's default names that ssh2 reads). */
  defaultKeyFiles: string[];
  /** IdentitiesOnly: the agent is not asked. */
  identitiesOnly: boolean;
  /** Agent socket, if one is to be used. */
  agent?: string;
  /** Checked together; an accepted key is recorded in the first. */
  knownHosts: string[];
  hostKeyAlias?: string;
  /** StrictHostKeyChecking from the config, and where it was set (undefined: not set). */
  strictHostKeyChecking?: { value: NonNullable<ResolvedSsh['strictHostKeyChecking']>; where: Source };
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** The jump hosts (each resolved as a destination of its own) and ProxyCommand on the way; a
   * jump host's own route is always empty: the destination's holds the whole chain. */
  route: Route<ConnectOptions>;
  become: boolean;
  becomeUser: string;
  /** sudo (default) or su, ansible_become_flags, and the become password (passwords.ts) */
  becomeMethod?: BecomeMethod;
  becomeFlags?: string[];
  becomePassword?: Secret;
  /** The login password (ansible_password, --ask-pass), tried after the keys; never given to jump hosts */
  password?: Secret;
  local: boolean;
  timeoutMs: number;
  /** The resolved ssh configuration (absent for ansible_connection=local). */
  ssh?: ResolvedSsh;
  /** ssh2 or OpenSSH, and why (client-choice.ts); absent for local and jump hosts. */
  client?: ClientChoice;
  /** -F and the -o options of ansible_ssh_*_args, as given: OpenSSH gets the ones we do not read. */
  commandLine?: { configFile?: string; options: Directive[] };
}

const expand = (p: string) => (p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : resolve(p));

/** The controller as OpenSSH's tokens see it; `~` is $HOME (OpenSSH takes the passwd entry's home). */
export function controllerContext(): ResolveContext {
  const me = userInfo();
  return { home: homedir(), localUser: me.username, uid: me.uid, localHostname: hostname(), env: process.env, systemConfig: '/etc/ssh/ssh_config' };
}

/** What Ansible puts on ssh's command line, in its order: ssh_args, the inventory's -o, common args, extra args. */
function sshCommandLine(host: HostSpec, str: (k: string) => string | undefined): { configFile?: string; options: Directive[] } {
  const words = (k: string) => (str(k) ? shlexSplit(str(k)!) : []);
  const fromVars = (keyword: string, ...names: string[]): Directive[] => {
    const name = names.find((n) => str(n) !== undefined);
    return name ? [{ keyword, args: [str(name)!], rest: str(name)!, file: `${name} (inventory, ${host.name})`, line: 0 }] : [];
  };
  const parts = [
    parseSshArgs(words('ansible_ssh_args'), 'ansible_ssh_args'),
    { options: [...fromVars('port', 'ansible_port', 'ansible_ssh_port'), ...fromVars('identityfile', 'ansible_ssh_private_key_file', 'ansible_private_key_file'), ...fromVars('user', 'ansible_user', 'ansible_ssh_user')] },
    parseSshArgs(words('ansible_ssh_common_args'), 'ansible_ssh_common_args'),
    parseSshArgs(words('ansible_ssh_extra_args'), 'ansible_ssh_extra_args'),
  ];
  // ssh takes the last -F it is given
  return { configFile: parts.map((p) => (p as { configFile?: string }).configFile).filter(Boolean).pop(), options: parts.flatMap((p) => p.options) };
}

export function connectOptions(host: HostSpec, defaults: { timeoutMs: number; passwords?: CliPasswords }, ctx: ResolveContext = controllerContext()): ConnectOptions {
  const v = host.vars;
  const str = (k: string) => (v[k] === undefined || v[k] === null ? undefined : String(v[k]));
  const port = Number(str('ansible_port') ?? str('ansible_ssh_port') ?? 22);
  // loadInventory refuses these already; callers that build hosts themselves get the same guard.
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${host.name}: ansible_port must be a whole number from 1 to 65535`);
  const timeout = Number(str('ansible_timeout') ?? str('ansible_ssh_timeout') ?? NaN);
  const become = truthy(v.ansible_become ?? v.become);
  // the become settings are read (and an unknown method refused) only when become is on
  const b = become ? becomeSettings(v, defaults.passwords, host.origins) : undefined;
  const common = {
    host: host.name,
    become,
    becomeUser: str('ansible_become_user') ?? 'root',
    keepaliveIntervalMs: 5000,
    keepaliveCountMax: 3,
  };
  const secrets = {
    ...(b && { becomeMethod: b.method, ...(b.flags && { becomeFlags: b.flags }), ...(b.password && { becomePassword: b.password }) }),
    ...optionalPassword(connectionPassword(v, defaults.passwords, host.origins)),
  };
  if (str('ansible_connection') === 'local') {
    return {
      ...common, address: str('ansible_host') ?? host.name, port, user: str('ansible_user') ?? ctx.localUser, keyFiles: [], defaultKeyFiles: [], identitiesOnly: false,
      knownHosts: [], route: { jumps: [] }, local: true, timeoutMs: Number.isFinite(timeout) ? timeout * 1000 : defaults.timeoutMs, ...secrets,
    };
  }
  const cmd = sshCommandLine(host, str);
  const ssh = resolveSshConfig({ host: str('ansible_host') ?? str('ansible_ssh_host') ?? host.name, options: cmd.options, configFile: cmd.configFile }, ctx);
  // smbdirect_known_hosts is this tool's choice of trust for the host: it holds on every hop to it
  const knownHostsFile = str('smbdirect_known_hosts') && expand(str('smbdirect_known_hosts')!);
  // a jump host is resolved on its own (OpenSSH passes it no -o, no -i), with the CLI's timeout
  const hop = (h: ResolvedSsh) => ({ ...fromResolved(h, ctx, { host: h.host, knownHostsFile, defaultTimeoutMs: defaults.timeoutMs, become: false, becomeUser: 'root' }), route: { jumps: [] } });
  const base = fromResolved(ssh, ctx, { ...common, knownHostsFile, timeoutMs: Number.isFinite(timeout) ? timeout * 1000 : undefined, defaultTimeoutMs: defaults.timeoutMs });
  const clientFrom = host.origins?.smbdirect_ssh_client ? `set in ${host.origins.smbdirect_ssh_client}` : 'inventory';
  return {
    ...base,
    route: resolveRoute(ssh, cmd.configFile, ctx, hop),
    ...secrets,
    client: chooseClient(str('smbdirect_ssh_client'), clientFrom, ssh, base),
    commandLine: cmd,
  };
}

const optionalPassword = (p: Secret | undefined) => (p ? { password: p } : {});

/** The options of one SSH connection from its resolved config (`timeoutMs`: set by the inventory, so it beats ConnectTimeout). */
function fromResolved(
  ssh: ResolvedSsh, ctx: ResolveContext,
  s: { host: string; knownHostsFile?: string; timeoutMs?: number; defaultTimeoutMs?: number; become: boolean; becomeUser: string },
): Omit<ConnectOptions, 'route'> {
  const agentSock = ssh.identityAgent === undefined || ssh.identityAgent === 'SSH_AUTH_SOCK' ? ctx.env.SSH_AUTH_SOCK : ssh.identityAgent === 'none' ? undefined : ssh.identityAgent;
  const knownHosts = s.knownHostsFile
    ? [s.knownHostsFile]
    : (ssh.userKnownHostsFiles ?? [join(ctx.home, '.ssh/known_hosts'), join(ctx.home, '.ssh/known_hosts2')]).filter((f) => f !== 'none');
  return {
    host: s.host,
    become: s.become,
    becomeUser: s.becomeUser,
    address: ssh.hostname,
    port: ssh.port,
    user: ssh.user,
    keyFiles: ssh.identityFiles,
    defaultKeyFiles: ssh.identityFileSpecs.length ? [] : ['id_rsa', 'id_ecdsa', 'id_ed25519'].map((n) => join(ctx.home, '.ssh', n)),
    identitiesOnly: ssh.identitiesOnly,
    agent: ssh.identitiesOnly ? undefined : agentSock,
    knownHosts,
    hostKeyAlias: ssh.hostKeyAlias,
    strictHostKeyChecking: ssh.strictHostKeyChecking ? { value: ssh.strictHostKeyChecking, where: ssh.sources.stricthostkeychecking! } : undefined,
    keepaliveIntervalMs: ssh.serverAliveInterval !== undefined ? ssh.serverAliveInterval * 1000 : 5000,
    keepaliveCountMax: ssh.serverAliveCountMax ?? 3,
    local: false,
    // Ansible always passes ConnectTimeout (its --timeout); here an explicit ConnectTimeout in the
    // config beats the CLI's default, and ansible_timeout beats both.
    timeoutMs: s.timeoutMs ?? (ssh.connectTimeout !== undefined ? ssh.connectTimeout * 1000 : s.defaultTimeoutMs ?? 10_000),
    ssh,
  };
}

/** "FILE line N", or the inventory variable / command-line argument a value came from. */
export function describeSource(w: Source): string {
  return w.line ? `${w.file} line ${w.line}` : w.file;
}

/**
 * The address the controller's SSH reaches a host at: ansible_host, else the ssh_config HostName
 * (an alias such as `Host storage1` / `HostName 10.0.0.11`), else the inventory name; undefined
 * for a local connection or a host whose connection settings do not resolve.
 */
export function sshAddress(host: HostSpec, ctx: ResolveContext = controllerContext()): string | undefined {
  try {
    const o = connectOptions(host, { timeoutMs: 10_000 }, ctx);
    return o.local ? undefined : o.address;
  } catch {
    return undefined;
  }
}

/** The connection a host resolves to, for `smbdirect inventory --host` (key names in Ansible's style). */
export function connectionSummary(host: HostSpec, defaults: { timeoutMs: number }, ctx: ResolveContext = controllerContext()): Record<string, unknown> {
  const o = connectOptions(host, defaults, ctx);
  if (o.local) return { connection: 'local', become: o.become, become_user: o.becomeUser };
  const out: Record<string, unknown> = {
    ...sshSummary(o),
    ssh_client: o.client?.client,
    ssh_client_why: o.client?.why,
    proxy_jump: o.ssh!.proxyJump,
    // the way in, in connection order (each jump host as it resolves), and the command that carries the first
    jump_hosts: o.route.jumps.length ? o.route.jumps.map((j) => ({ host: j.host, ...sshSummary(j) })) : undefined,
    proxy_command: o.route.proxyCommand?.command,
    route: o.route.jumps.length || o.route.proxyCommand ? routeLine(o) : undefined,
    become: o.become,
    become_user: o.becomeUser,
    become_method: o.become ? o.becomeMethod : undefined,
    become_flags: o.becomeFlags,
    // where each password comes from, never its value
    password_from: o.password?.from,
    become_password_from: o.becomePassword?.from,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** `ProxyCommand ... -> root@10.0.0.1:22 (bastion) -> root@10.0.0.7:22 (node7)` */
export function routeLine(o: ConnectOptions): string {
  const at = (c: ConnectOptions) => `${c.user}@${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port} (${c.host})`;
  return [...(o.route.proxyCommand ? [`ProxyCommand ${o.route.proxyCommand.command}`] : []), ...o.route.jumps.map(at), at(o)].join(' -> ');
}

function sshSummary(o: ConnectOptions): Record<string, unknown> {
  const s = o.ssh!;
  const out: Record<string, unknown> = {
    connection: 'ssh',
    address: o.address,
    port: o.port,
    user: o.user,
    identity_files: o.keyFiles.length ? o.keyFiles : o.defaultKeyFiles,
    identities_only: o.identitiesOnly,
    identity_agent: o.agent ?? null,
    known_hosts: o.knownHosts,
    host_key_alias: o.hostKeyAlias,
    strict_host_key_checking: o.strictHostKeyChecking?.value,
    connect_timeout: o.timeoutMs / 1000,
    server_alive_interval: o.keepaliveIntervalMs / 1000,
    server_alive_count_max: o.keepaliveCountMax,
    config_files: s.files,
    sources: Object.fromEntries(Object.entries(s.sources).sort().map(([k, w]) => [k, describeSource(w)])),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}
