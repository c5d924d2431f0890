// The way to a host through jump hosts, resolved as OpenSSH resolves it (pure apart from reading the
// config files). OpenSSH turns `ProxyJump a,b` into a proxy process `ssh [-l U] [-p P] -J a [-F FILE]
// b -W '[%h]:%p'`: the last hop is a destination of its own, looked up in the same config files (the
// same -F, never the first ssh's other -o options), with the hops before it as its own ProxyJump; the
// first hop, given no -J, follows whatever ProxyJump or ProxyCommand the config gives it. We walk
// that recursion here instead of starting ssh processes, so every hop is resolved (User, Port,
// IdentityFile, known hosts, HostKeyAlias) exactly as it would be for `ssh HOP`.
import { quote } from '../quote.js';
import { percentExpand, resolveSshConfig, SshConfigError, type Directive, type ResolveContext, type ResolvedSsh, type Source } from './ssh-config.js';

export interface JumpSpec { user?: string; host: string; port?: number }

/** How a connection is carried: `jumps` in connection order (the first is reached first), and a
 * ProxyCommand whose stdio carries the first connection (the first jump, else the host itself). */
export interface Route<T> { jumps: T[]; proxyCommand?: { command: string; where: Source } }

/** Chains longer than this are taken for a loop the checks below did not see. */
const MAX_HOPS = 16;

/** One ProxyJump element: `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`. */
export function parseJump(text: string, where: Source): JumpSpec {
  const bad = (why: string) => new SshConfigError(where, `ProxyJump: invalid jump host "${text}" (${why})`);
  let rest = text;
  if (/^ssh:\/\//i.test(rest)) {
    rest = rest.slice(6).replace(/\/$/, '');
    if (rest.includes('/')) throw bad('a path is not allowed');
  }
  // the user is everything before the last @, as OpenSSH takes it
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : undefined;
  const hp = rest.slice(at + 1);
  let host: string;
  let portText: string | undefined;
  if (hp.startsWith('[')) {
    const end = hp.indexOf(']');
    if (end < 0 || (end + 1 < hp.length && hp[end + 1] !== ':')) throw bad('unbalanced [ ]');
    host = hp.slice(1, end);
    portText = end + 1 < hp.length ? hp.slice(end + 2) : undefined;
  } else {
    const colon = hp.indexOf(':');
    host = colon < 0 ? hp : hp.slice(0, colon);
    portText = colon < 0 ? undefined : hp.slice(colon + 1);
  }
  if (!host) throw bad('no host');
  if (user === '') throw bad('empty user');
  if (portText !== undefined && !(/^\d+$/.test(portText) && +portText >= 1 && +portText <= 65535)) throw bad(`"${portText}" is not a port number`);
  return { host, ...(user !== undefined && { user }), ...(portText !== undefined && { port: Number(portText) }) };
}

export function parseJumpList(value: string, where: Source): JumpSpec[] {
  return value.split(',').map((s) => parseJump(s.trim(), where));
}

/** ProxyCommand with OpenSSH's tokens (%h %p %r %n %%); each value is one shell word. */
export function proxyCommandLine(ssh: ResolvedSsh, where: Source): string {
  const tokens = { h: ssh.hostname, p: String(ssh.port), r: ssh.user, n: ssh.host };
  return percentExpand(ssh.proxyCommand!, Object.fromEntries(Object.entries(tokens).map(([k, v]) => [k, quote(v)])), 'ProxyCommand', where);
}

const endpoint = (s: ResolvedSsh) => `${s.user}@${s.hostname}:${s.port}`;

/**
 * The route to `dest` (already resolved), each hop built by `hop` from its own resolution.
 * `chain` holds the connections that the route leads to (the destination first), to refuse loops.
 */
export function resolveRoute<T>(dest: ResolvedSsh, configFile: string | undefined, ctx: ResolveContext, hop: (ssh: ResolvedSsh) => T, chain: string[] = []): Route<T> {
  const here = [...chain, `${dest.host} (${endpoint(dest)})`];
  if (dest.proxyCommand !== undefined) return { jumps: [], proxyCommand: { command: proxyCommandLine(dest, dest.sources.proxycommand!), where: dest.sources.proxycommand! } };
  if (dest.proxyJump === undefined) return { jumps: [] };
  const where = dest.sources.proxyjump!;
  const specs = parseJumpList(dest.proxyJump, where);
  const last = specs.at(-1)!;
  if (here.length > MAX_HOPS) throw new SshConfigError(where, `ProxyJump: more than ${MAX_HOPS} jump hosts (a loop?): ${here.join(' <- ')}`);
  // what `ssh -l U -p P -J REST HOST` puts on the hop's command line: it wins over the files
  const line = (keyword: string, value: string): Directive => ({ keyword, args: [value], rest: value, file: `ProxyJump ${dest.proxyJump} (${where.file}${where.line ? ` line ${where.line}` : ''})`, line: 0 });
  const options = [
    ...(last.user !== undefined ? [line('user', last.user)] : []),
    ...(last.port !== undefined ? [line('port', String(last.port))] : []),
    ...(specs.length > 1 ? [line('proxyjump', specs.slice(0, -1).map(formatJump).join(','))] : []),
  ];
  const next = resolveSshConfig({ host: last.host, options, configFile }, ctx);
  // OpenSSH refuses a hop that is the connection it serves ("jumphost loop"); we refuse any repeat
  if (here.some((c) => c.endsWith(`(${endpoint(next)})`)))
    throw new SshConfigError(where, `ProxyJump loop: ${[...here, `${next.host} (${endpoint(next)})`].join(' <- ')}`);
  const upstream = resolveRoute(next, configFile, ctx, hop, here);
  return { jumps: [...upstream.jumps, hop(next)], ...(upstream.proxyCommand && { proxyCommand: upstream.proxyCommand }) };
}

export function formatJump(j: JumpSpec): string {
  const host = j.host.includes(':') ? `[${j.host}]` : j.host;
  return `${j.user !== undefined ? `${j.user}@` : ''}${host}${j.port !== undefined ? `:${j.port}` : ''}`;
}
