// OpenSSH client configuration (ssh_config(5)) resolved for one destination, as `ssh` (OpenSSH 9.x)
// resolves it: command-line `-o` options first, then the user's file (`-F FILE`, else ~/.ssh/config),
// then /etc/ssh/ssh_config when there is no -F; the first value of a keyword wins.
//
// Parsing is our own, not the `ssh-config` npm package (5.3.0, maintained): that package is an
// editor's parser (it round-trips text) and differs from OpenSSH where it matters here: `#` ends a
// value anywhere (`HostName a#b` becomes `a`), single quotes are not quotes, Match criteria become an
// unordered record, and nodes carry no line numbers (errors here name FILE:LINE). Lines are split as
// OpenSSH's argv_split() does; the package would have saved only those ~30 lines.
//
// This module is pure apart from reading the config files: the caller passes home, user, env.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

export interface Source { file: string; line: number }

export class SshConfigError extends Error {
  constructor(readonly where: Source, problem: string) {
    super(`${where.file}:${where.line}: ${problem}`);
    this.name = 'SshConfigError';
  }
}

/** One `Keyword args...` line. `rest` is the text after the keyword (ProxyCommand takes it whole). */
export interface Directive extends Source { keyword: string; args: string[]; rest: string }

export const COMMAND_LINE = '(command line)';

/** Splits the arguments of a line as OpenSSH's argv_split(s, ..., terminate_on_comment=1). */
export function splitConfigArgs(s: string, where: Source): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (i >= s.length || s[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i]!;
      const n = s[i + 1];
      if (c === '\\' && (n === "'" || n === '"' || n === '\\' || (!quote && n === ' '))) arg += s[++i];
      else if (!quote && (c === ' ' || c === '\t')) break;
      else if (!quote && (c === '"' || c === "'")) quote = c;
      else if (quote && c === quote) quote = '';
      else arg += c;
    }
    if (quote) throw new SshConfigError(where, 'unterminated quote');
    out.push(arg);
  }
  return out;
}

/** Parses one line (`Key Value`, `Key=Value`, `Key = Value`); undefined for blank and comment lines. */
export function parseDirective(text: string, where: Source): Directive | undefined {
  const m = /^[ \t\f]*([^ \t=]+)[ \t]*=?[ \t]*(.*?)[ \t\f\r]*$/.exec(text);
  if (!m || m[1]!.startsWith('#')) return undefined;
  const rest = m[2]!;
  return { keyword: m[1]!.toLowerCase(), args: splitConfigArgs(rest, where), rest, ...where };
}

/** `-F`, `-o` and the short options that set a keyword, from ansible_ssh_*_args words (already shell-split). */
export function parseSshArgs(words: string[], file = COMMAND_LINE): { configFile?: string; options: Directive[] } {
  const short: Record<string, string> = { i: 'IdentityFile', p: 'Port', l: 'User', J: 'ProxyJump' };
  const withArg = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));
  const options: Directive[] = [];
  let configFile: string | undefined;
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    if (!/^-[A-Za-z0-9]/.test(w)) continue;
    // a cluster such as -4Co KEY=VALUE: the first letter taking an argument ends the cluster
    for (let j = 1; j < w.length; j++) {
      const f = w[j]!;
      if (!withArg.has(f)) continue;
      const value = j + 1 < w.length ? w.slice(j + 1) : words[++k];
      const where = { file, line: 0 };
      if (value === undefined) throw new SshConfigError(where, `ssh option -${f} needs a value`);
      if (f === 'F') configFile ??= value;
      else if (f === 'o') {
        const d = parseDirective(value, where);
        if (d) options.push(d);
      } else if (short[f]) options.push({ keyword: short[f].toLowerCase(), args: [value], rest: value, ...where });
      break;
    }
  }
  return { configFile, options };
}

/** OpenSSH's match_pattern(): `*` and `?` wildcards, nothing else. */
export function wildcardMatch(text: string, pattern: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(text);
}

/** OpenSSH's match_pattern_list(): comma list, `!` negates; 1 match, -1 negated match, 0 none. */
export function matchPatternList(text: string, list: string, lower: boolean): 1 | 0 | -1 {
  const t = lower ? text.toLowerCase() : text;
  let got: 1 | 0 = 0;
  for (const raw of list.split(',')) {
    const neg = raw.startsWith('!');
    const p = lower ? raw.slice(neg ? 1 : 0).toLowerCase() : raw.slice(neg ? 1 : 0);
    if (wildcardMatch(t, p)) {
      if (neg) return -1;
      got = 1;
    }
  }
  return got;
}

export interface ResolveContext {
  home: string;
  localUser: string;
  uid: number;
  localHostname: string;
  env: Record<string, string | undefined>;
  /** OpenSSH's system-wide file, read last and only without -F; tests pass undefined. */
  systemConfig?: string;
}

export interface ResolveRequest {
  /** The destination as given to ssh (Ansible: ansible_host, else the inventory name). */
  host: string;
  /** Command-line options in order: they come before any file, so they win. */
  options: Directive[];
  /** `-F FILE` (`none`: no file); default ~/.ssh/config. */
  configFile?: string;
}

export interface ResolvedSsh {
  host: string;
  hostname: string;
  user: string;
  port: number;
  /** As written (ssh -G prints them so); `identityFiles` has them expanded. */
  identityFileSpecs: string[];
  identityFiles: string[];
  identitiesOnly: boolean;
  identityAgent?: string;
  proxyJump?: string;
  proxyCommand?: string;
  connectTimeout?: number;
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  strictHostKeyChecking?: 'yes' | 'no' | 'accept-new' | 'ask';
  userKnownHostsFiles?: string[];
  hostKeyAlias?: string;
  /** Read only to choose the client (client-choice.ts): what ssh2 cannot do, OpenSSH can. */
  gssapiAuthentication?: boolean;
  pkcs11Provider?: string;
  controlPath?: string;
  certificateFiles?: string[];
  /** Where each keyword's winning value was set (identityfile: the first one). */
  sources: Record<string, Source>;
  /** Config files read, in order. */
  files: string[];
}

const SINGLE = new Set([
  'hostname', 'user', 'port', 'identitiesonly', 'identityagent', 'connecttimeout', 'serveraliveinterval',
  'serveralivecountmax', 'stricthostkeychecking', 'hostkeyalias', 'gssapiauthentication', 'pkcs11provider', 'controlpath',
]);
const MAX_INCLUDE_DEPTH = 16;

/** OpenSSH's convtime(): 90, 90s, 1m30s, 2h, 1d, 1w. */
function convtime(v: string, d: Directive): number {
  const unit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  if (!/^(\d+[smhdw]?)+$/i.test(v)) throw new SshConfigError(d, `${d.keyword}: invalid time value "${v}"`);
  let total = 0;
  for (const [, n, u] of v.matchAll(/(\d+)([smhdw]?)/gi)) total += Number(n) * unit[u!.toLowerCase()]!;
  return total;
}

function checkPort(v: string, d: Directive): void {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new SshConfigError(d, `Port: "${v}" is not a port number`);
}

function yesNo(v: string, d: Directive): boolean {
  if (/^(yes|true)$/i.test(v)) return true;
  if (/^(no|false)$/i.test(v)) return false;
  throw new SshConfigError(d, `${d.keyword}: expected yes or no, got "${v}"`);
}

function strictValue(v: string, d: Directive): NonNullable<ResolvedSsh['strictHostKeyChecking']> {
  const s = v.toLowerCase();
  if (s === 'yes' || s === 'true') return 'yes';
  if (s === 'no' || s === 'false' || s === 'off') return 'no';
  if (s === 'accept-new' || s === 'ask') return s;
  throw new SshConfigError(d, `StrictHostKeyChecking: expected yes, accept-new, no or ask, got "${v}"`);
}

function tilde(p: string, ctx: ResolveContext, d: Source): string {
  if (p === '~') return ctx.home;
  if (p.startsWith('~/')) return join(ctx.home, p.slice(2));
  if (p.startsWith(`~${ctx.localUser}/`)) return join(ctx.home, p.slice(ctx.localUser.length + 2));
  if (p.startsWith('~')) throw new SshConfigError(d, `"${p}": ~user paths are not supported (write the path out)`);
  return p;
}

/** percent_expand() with the given tokens; an unknown token is an error, as in OpenSSH. */
export function percentExpand(s: string, tokens: Record<string, string>, keyword: string, d: Source): string {
  return s.replace(/%(.?)/gs, (_, t: string) => {
    if (t === '%') return '%';
    if (t in tokens) return tokens[t]!;
    throw new SshConfigError(d, t ? `${keyword}: unknown token %${t}` : `${keyword}: "%" at the end of "${s}"`);
  });
}

function dollarExpand(s: string, ctx: ResolveContext, d: Source): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = ctx.env[name];
    if (v === undefined) throw new SshConfigError(d, `environment variable \${${name}} is not set`);
    return v;
  });
}

/** glob(3) for Include: `*` `?` `[...]` in any path component, sorted, hidden files only when asked for. */
export function globFiles(pattern: string): string[] {
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : '.'];
  const start = parts[0] === '' ? 1 : 0;
  for (let k = start; k < parts.length; k++) {
    const part = parts[k]!;
    if (part === '') continue;
    if (!/[*?[]/.test(part)) {
      bases = bases.map((b) => join(b, part));
      continue;
    }
    const re = new RegExp(`^${part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    bases = bases.flatMap((b) => {
      let names: string[] = [];
      try {
        names = readdirSync(b);
      } catch {
        return [];
      }
      return names.filter((n) => re.test(n) && (!n.startsWith('.') || part.startsWith('.'))).sort().map((n) => join(b, n));
    });
  }
  return bases.filter((b) => {
    try {
      statSync(b);
      return true;
    } catch {
      return false;
    }
  });
}

interface State {
  single: Map<string, Directive>;
  identity: Directive[];
  certificates: Directive[];
  proxy?: Directive;
  knownHosts?: Directive;
  files: string[];
}

class Resolver {
  constructor(private req: ResolveRequest, private ctx: ResolveContext, private st: State) {}

  /** The host name `Match host` sees: HostName so far (with %h), else the destination. */
  private currentHost(): string {
    const h = this.st.single.get('hostname');
    return h ? percentExpand(h.args[0]!, { h: this.req.host }, 'HostName', h) : this.req.host;
  }

  private hostLine(d: Directive): boolean {
    if (!d.args.length) throw new SshConfigError(d, 'Host needs at least one pattern');
    let hit = false;
    for (const a of d.args) {
      const neg = a.startsWith('!');
      if (wildcardMatch(this.req.host, neg ? a.slice(1) : a)) {
        if (neg) return false;
        hit = true;
      }
    }
    return hit;
  }

  private matchLine(d: Directive): boolean {
    const a = d.args;
    if (!a.length) throw new SshConfigError(d, 'Match needs criteria');
    let result = true;
    for (let k = 0; k < a.length; k++) {
      const raw = a[k]!;
      const neg = raw.startsWith('!');
      const crit = raw.slice(neg ? 1 : 0).toLowerCase();
      if (crit === 'all') {
        if (a.length !== 1 || neg) throw new SshConfigError(d, 'Match all must appear alone');
        return true;
      }
      const arg = a[++k];
      if (arg === undefined) throw new SshConfigError(d, `Match ${crit} needs a value`);
      let hit: boolean;
      if (crit === 'host') hit = matchPatternList(this.currentHost(), arg, true) === 1;
      else if (crit === 'originalhost') hit = matchPatternList(this.req.host, arg, true) === 1;
      else if (crit === 'user') hit = matchPatternList(this.st.single.get('user')?.args[0] ?? this.ctx.localUser, arg, false) === 1;
      else if (crit === 'localuser') hit = matchPatternList(this.ctx.localUser, arg, false) === 1;
      else if (crit === 'exec' && !result) continue; // OpenSSH runs exec only while the line still matches
      else throw new SshConfigError(d, `Match ${crit} is not supported (supported: all, host, originalhost, user, localuser)`);
      if (hit === neg) result = false;
    }
    return result;
  }

  /** Like OpenSSH, every line of a keyword we read is checked, in a matching block or not. */
  check(d: Directive): void {
    const k = d.keyword;
    const v = d.args[0]!;
    if (SINGLE.has(k) || k === 'identityfile') {
      if (d.args.length !== 1) throw new SshConfigError(d, `${k}: ${d.args.length ? 'extra arguments at end of line' : 'missing argument'}`);
      if (k === 'port') checkPort(v, d);
      else if (k === 'identitiesonly' || k === 'gssapiauthentication') yesNo(v, d);
      else if (k === 'stricthostkeychecking') strictValue(v, d);
      else if (k === 'serveralivecountmax' && !/^\d+$/.test(v)) throw new SshConfigError(d, `ServerAliveCountMax: "${v}" is not a number`);
      else if (k === 'serveraliveinterval' || (k === 'connecttimeout' && v.toLowerCase() !== 'none')) convtime(v, d);
    } else if ((k === 'proxyjump' || k === 'proxycommand' || k === 'userknownhostsfile') && !d.args.length) {
      throw new SshConfigError(d, `${k}: missing argument`);
    }
  }

  apply(d: Directive): void {
    const k = d.keyword;
    const st = this.st;
    if (SINGLE.has(k)) {
      if (!st.single.has(k)) st.single.set(k, d);
    } else if (k === 'identityfile') {
      if (!st.identity.some((i) => i.args[0] === d.args[0])) st.identity.push(d);
    } else if (k === 'certificatefile') {
      st.certificates.push(d);
    } else if (k === 'proxyjump' || k === 'proxycommand') {
      st.proxy ??= d; // OpenSSH: whichever of the two comes first wins, the other is ignored
    } else if (k === 'userknownhostsfile') {
      st.knownHosts ??= d;
    }
  }

  /** Reads one file; `active` is the state at an Include (Host/Match inside change it for that file only). */
  readFile(path: string, opts: { user: boolean; checkPerm: boolean; neverMatch: boolean; active: boolean; depth: number; from?: Source }): void {
    if (opts.depth > MAX_INCLUDE_DEPTH) throw new SshConfigError(opts.from!, `Include nested more than ${MAX_INCLUDE_DEPTH} deep`);
    let text: string;
    try {
      if (opts.checkPerm) {
        const s = statSync(path);
        if ((s.uid !== 0 && s.uid !== this.ctx.uid) || (s.mode & 0o022) !== 0)
          throw new SshConfigError({ file: path, line: 0 }, 'bad owner or permissions (must be yours or root\'s, not writable by group or others), as ssh requires');
        if (s.isDirectory()) return;
      }
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (e instanceof SshConfigError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') return;
      throw e;
    }
    this.st.files.push(path);
    let active = opts.active;
    const lines = text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      const d = parseDirective(lines[n]!, { file: path, line: n + 1 });
      if (!d) continue;
      if (d.keyword === 'host') active = !opts.neverMatch && this.hostLine(d);
      else if (d.keyword === 'match') active = !opts.neverMatch && this.matchLine(d);
      else if (d.keyword === 'include') this.include(d, opts, active);
      else {
        this.check(d);
        if (active) this.apply(d);
      }
    }
  }

  private include(d: Directive, opts: { user: boolean; neverMatch: boolean; depth: number }, active: boolean): void {
    if (!d.args.length) throw new SshConfigError(d, 'Include needs a file name');
    for (const a of d.args) {
      const p = tilde(a, this.ctx, d);
      const abs = isAbsolute(p) ? p : join(opts.user ? join(this.ctx.home, '.ssh') : dirname(this.ctx.systemConfig ?? '/etc/ssh/ssh_config'), p);
      for (const f of globFiles(abs)) {
        this.readFile(f, { user: opts.user, checkPerm: true, neverMatch: opts.neverMatch || !active, active, depth: opts.depth + 1, from: d });
      }
    }
  }
}

/** Resolves the connection settings for `req.host`, as `ssh -G` would print them (the subset we use). */
export function resolveSshConfig(req: ResolveRequest, ctx: ResolveContext): ResolvedSsh {
  const st: State = { single: new Map(), identity: [], certificates: [], files: [] };
  const r = new Resolver(req, ctx, st);
  for (const o of req.options) {
    if (o.keyword === 'host' || o.keyword === 'match' || o.keyword === 'include')
      throw new SshConfigError(o, `-o ${o.keyword} is not allowed on the command line`);
    r.check(o);
    r.apply(o);
  }
  const base = { neverMatch: false, active: true, depth: 0 };
  if (req.configFile === undefined) {
    const user = join(ctx.home, '.ssh', 'config');
    if (statSafe(user)) r.readFile(user, { ...base, user: true, checkPerm: true });
    if (ctx.systemConfig && statSafe(ctx.systemConfig)) r.readFile(ctx.systemConfig, { ...base, user: false, checkPerm: false });
  } else if (req.configFile.toLowerCase() !== 'none') {
    const f = tilde(req.configFile, ctx, { file: COMMAND_LINE, line: 0 });
    if (!statSafe(f)) throw new SshConfigError({ file: f, line: 0 }, 'ssh config file (-F) not found');
    r.readFile(f, { ...base, user: true, checkPerm: false });
  }
  return finish(req, ctx, st);
}

function statSafe(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function finish(req: ResolveRequest, ctx: ResolveContext, st: State): ResolvedSsh {
  const get = (k: string) => st.single.get(k);
  const sources: Record<string, Source> = {};
  for (const [k, d] of st.single) sources[k] = { file: d.file, line: d.line };
  const hn = get('hostname');
  const hostname = (hn ? percentExpand(hn.args[0]!, { h: req.host }, 'HostName', hn) : req.host).toLowerCase();
  const user = get('user')?.args[0] ?? ctx.localUser;
  const port = get('port') ? Number(get('port')!.args[0]) : 22;
  const hostKeyAlias = get('hostkeyalias')?.args[0]?.toLowerCase();
  const tokens: Record<string, string> = {
    h: hostname, p: String(port), r: user, n: req.host, d: ctx.home, u: ctx.localUser, i: String(ctx.uid),
    l: ctx.localHostname, L: ctx.localHostname.split('.')[0]!, k: hostKeyAlias ?? req.host,
  };
  tokens.C = createHash('sha1').update(`${tokens.l}${hostname}${port}${user}`).digest('hex'); // OpenSSH 9.2: %l%h%p%r
  const path = (v: string, kw: string, d: Source) => dollarExpand(percentExpand(tilde(v, ctx, d), tokens, kw, d), ctx, d);
  const out: ResolvedSsh = {
    host: req.host, hostname, user, port,
    identityFileSpecs: st.identity.map((d) => d.args[0]!),
    identityFiles: st.identity.filter((d) => d.args[0]!.toLowerCase() !== 'none').map((d) => path(d.args[0]!, 'IdentityFile', d)),
    identitiesOnly: get('identitiesonly') ? yesNo(get('identitiesonly')!.args[0]!, get('identitiesonly')!) : false,
    sources, files: st.files,
  };
  if (st.identity[0]) sources.identityfile = { file: st.identity[0].file, line: st.identity[0].line };
  const agent = get('identityagent');
  if (agent) {
    const v = agent.args[0]!;
    out.identityAgent = v === 'none' || v === 'SSH_AUTH_SOCK' ? v : v.startsWith('$') && !v.startsWith('${') ? ctx.env[v.slice(1)] ?? 'none' : path(v, 'IdentityAgent', agent);
  }
  if (st.proxy) {
    sources[st.proxy.keyword] = { file: st.proxy.file, line: st.proxy.line };
    const v = st.proxy.keyword === 'proxyjump' ? st.proxy.args.join(' ') : st.proxy.rest;
    if (v.toLowerCase() !== 'none') {
      if (st.proxy.keyword === 'proxyjump') out.proxyJump = v;
      else out.proxyCommand = v;
    }
  }
  const ct = get('connecttimeout');
  if (ct && ct.args[0]!.toLowerCase() !== 'none') out.connectTimeout = convtime(ct.args[0]!, ct);
  const sai = get('serveraliveinterval');
  if (sai) out.serverAliveInterval = convtime(sai.args[0]!, sai);
  const sac = get('serveralivecountmax');
  if (sac) out.serverAliveCountMax = Number(sac.args[0]);
  const shk = get('stricthostkeychecking');
  if (shk) out.strictHostKeyChecking = strictValue(shk.args[0]!, shk);
  if (st.knownHosts) {
    sources.userknownhostsfile = { file: st.knownHosts.file, line: st.knownHosts.line };
    out.userKnownHostsFiles = st.knownHosts.args.map((a) => (a === 'none' ? a : path(a, 'UserKnownHostsFile', st.knownHosts!)));
  }
  if (hostKeyAlias) out.hostKeyAlias = hostKeyAlias;
  const gss = get('gssapiauthentication');
  if (gss) out.gssapiAuthentication = yesNo(gss.args[0]!, gss);
  const pkcs11 = get('pkcs11provider')?.args[0];
  if (pkcs11 && pkcs11.toLowerCase() !== 'none') out.pkcs11Provider = pkcs11;
  // as written: ssh expands its own tokens when it uses the path
  const cp = get('controlpath')?.args[0];
  if (cp && cp.toLowerCase() !== 'none') out.controlPath = cp;
  const certs = st.certificates.filter((d) => d.args[0] && d.args[0].toLowerCase() !== 'none');
  if (certs.length) out.certificateFiles = certs.map((d) => path(d.args[0]!, 'CertificateFile', d));
  return out;
}
