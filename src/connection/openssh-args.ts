// The command lines of the OpenSSH transport (openssh.ts), built from the resolved connection as
// data: argv arrays for execFile/spawn, never a shell line. Only the remote command (already
// POSIX-quoted by quote.ts) is text, and it holds no secret: scripts go on stdin.
import type { HostKeyPolicy } from './ssh.js';
import type { ConnectOptions } from './options.js';

/** Keywords we set ourselves; the user's -o for any other keyword is passed on as given. */
const OURS = new Set([
  'hostname', 'port', 'user', 'identityfile', 'identitiesonly', 'identityagent', 'userknownhostsfile', 'globalknownhostsfile',
  'hostkeyalias', 'stricthostkeychecking', 'connecttimeout', 'serveraliveinterval', 'serveralivecountmax', 'proxyjump',
  'proxycommand', 'batchmode', 'controlmaster', 'controlpath', 'controlpersist', 'clearallforwardings', 'loglevel',
]);

/** One -o value as ssh_config reads it: double quotes around whitespace; a double quote has no escape there. */
export function configWord(v: string): string {
  if (v.includes('"') || /[\0\n\r]/.test(v)) throw new Error(`cannot pass ${JSON.stringify(v)} to ssh -o (a double quote or line break has no escape in ssh_config)`);
  return v === '' || /\s/.test(v) ? `"${v}"` : v;
}

/** A literal path for a keyword that ssh percent-expands (IdentityFile, UserKnownHostsFile, ...). */
const literal = (p: string) => configWord(p.replace(/%/g, '%%'));

/** OpenSSH's mode for our policy: `no` is accept-new here (a changed key is refused, as with ssh2); `ask` cannot ask. */
export function strictMode(o: Pick<ConnectOptions, 'strictHostKeyChecking'>, policy: HostKeyPolicy): 'yes' | 'accept-new' {
  if (policy.acceptNew) return 'accept-new';
  const v = o.strictHostKeyChecking?.value;
  return v === 'no' || v === 'accept-new' ? 'accept-new' : 'yes';
}

/** Where the masters' sockets are: ours (a literal path) or the user's ControlPath (ssh expands its tokens). */
export interface Control { path: string; users: boolean }

/** The options every ssh invocation for this host gets (master, sessions, -O exit), destination last. */
export function sshArgs(o: ConnectOptions, policy: HostKeyPolicy, control: Control): string[] {
  const ssh = o.ssh!;
  const opt = (k: string, v: string) => ['-o', `${k}=${v}`];
  const known = o.knownHosts.length ? o.knownHosts.map(literal).join(' ') : 'none';
  const line = o.commandLine;
  return [
    ...(line?.configFile ? ['-F', line.configFile] : []),
    // never a prompt (no password, no passphrase, no "are you sure"): a failure is a message
    ...opt('BatchMode', 'yes'),
    ...opt('LogLevel', 'ERROR'),
    // the user's LocalForward/RemoteForward would collide between hosts and runs
    ...opt('ClearAllForwardings', 'yes'),
    ...opt('ControlPath', control.users ? control.path : literal(control.path)),
    ...opt('HostName', configWord(o.address)),
    ...opt('Port', String(o.port)),
    ...opt('User', configWord(o.user)),
    ...o.keyFiles.flatMap((k) => opt('IdentityFile', literal(k))),
    ...opt('IdentitiesOnly', o.identitiesOnly ? 'yes' : 'no'),
    ...opt('IdentityAgent', o.agent ? literal(o.agent) : 'none'),
    // the same files as ssh2 reads, and only those
    ...opt('UserKnownHostsFile', known),
    ...opt('GlobalKnownHostsFile', 'none'),
    ...(o.hostKeyAlias ? opt('HostKeyAlias', configWord(o.hostKeyAlias)) : []),
    ...opt('StrictHostKeyChecking', strictMode(o, policy)),
    ...opt('ConnectTimeout', String(Math.max(1, Math.ceil(o.timeoutMs / 1000)))),
    ...opt('ServerAliveInterval', String(Math.round(o.keepaliveIntervalMs / 1000))),
    ...opt('ServerAliveCountMax', String(o.keepaliveCountMax)),
    ...(ssh.proxyJump ? opt('ProxyJump', configWord(ssh.proxyJump)) : []),
    ...(ssh.proxyCommand ? opt('ProxyCommand', ssh.proxyCommand) : []),
    // what the user gave with -o that we do not read (GSSAPI, PKCS11Provider, CertificateFile, ...)
    ...(line?.options ?? []).filter((d) => !OURS.has(d.keyword)).flatMap((d) => opt(d.keyword, d.rest)),
    // the alias, so the config's Host blocks apply to what we do not set; never read as an option
    '--', ssh.host,
  ];
}

/** Starts the host's master: it authenticates, then goes to the background (-f) and stays until -O exit. */
export const masterArgs = (base: string[]): string[] => ['-M', '-N', '-f', '-o', 'ControlMaster=yes', '-o', `ControlPersist=${PERSIST_S}`, ...base];

/** One session through the master (a fresh login if the master is gone: same options, same checks). */
export const sessionArgs = (base: string[], command: string): string[] => ['-T', '-o', 'ControlMaster=no', ...base, command];

/** `ssh -O check|exit`: asks the master over its socket. */
export const controlArgs = (base: string[], op: 'check' | 'exit'): string[] => ['-O', op, ...base];

/** A master outlives a run only if the run dies without stopping it: then it ends after this many idle seconds. */
export const PERSIST_S = 600;
