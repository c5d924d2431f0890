// Jump host chains resolved from fixture ssh_config files, checked hop by hop against the real
// OpenSSH client: OpenSSH reaches a ProxyJump's last hop by running `ssh [-l U] [-p P] [-J REST]
// -F FILE HOP -W ...`, so `ssh -G` with that command line prints what each hop must resolve to.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJump, parseJumpList, resolveRoute } from '../src/connection/jump.js';
import { connectionSummary, connectOptions, type ConnectOptions } from '../src/connection/options.js';
import { resolveSshConfig, type ResolveContext, type ResolvedSsh } from '../src/connection/ssh-config.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/jump-hosts/', import.meta.url));
const me = userInfo();
const where = { file: '/cfg', line: 3 };

/** The fixture copied to a test dir with @DIR@ replaced; a context whose user is the real one (as ssh -G sees it). */
function fixture(t: Test, name = 'config'): { file: string; ctx: ResolveContext } {
  const dir = t.testdir({});
  cpSync(FIXTURES, dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('@DIR@', dir));
  return { file, ctx: { home: dir, localUser: me.username, uid: me.uid, localHostname: hostname(), env: {} } };
}

/** The line number of the first line of `file` that contains `text`. */
const lineOf = (file: string, text: string) => readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;

const route = (file: string, ctx: ResolveContext, host: string) =>
  resolveRoute(resolveSshConfig({ host, options: [], configFile: file }, ctx), file, ctx, (s: ResolvedSsh) => s);

/** `ssh -G` for a command line: the settings OpenSSH would use. */
function sshG(args: string[]): Record<string, string> {
  const out = execFileSync('ssh', ['-G', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => [l.split(' ')[0]!, l.slice(l.indexOf(' ') + 1)]));
}

/** The hops OpenSSH would connect through, first first: each level's proxy process, asked with ssh -G. */
function opensshHops(file: string, args: string[]): Array<Record<string, string>> {
  const g = sshG(['-F', file, ...args]);
  if (!g.proxyjump) return [];
  const specs = parseJumpList(g.proxyjump, where);
  const last = specs.at(-1)!;
  const rest = specs.slice(0, -1).map((s) => `${s.user ? `${s.user}@` : ''}${s.host.includes(':') ? `[${s.host}]` : s.host}${s.port ? `:${s.port}` : ''}`);
  const line = [...(last.user ? ['-l', last.user] : []), ...(last.port ? ['-p', String(last.port)] : []), ...(rest.length ? ['-J', rest.join(',')] : []), last.host];
  return [...opensshHops(file, line), sshG(['-F', file, ...line])];
}

t.test('ProxyJump elements: user@host:port, [v6]:port, ssh:// URIs; bad ones name the line', async (t) => {
  t.same(parseJump('bastion', where), { host: 'bastion' });
  t.same(parseJump('ops@bastion:2222', where), { host: 'bastion', user: 'ops', port: 2222 });
  t.same(parseJump('a@b@bastion', where), { host: 'bastion', user: 'a@b' }, 'the user runs to the last @, as in OpenSSH');
  t.same(parseJump('[fd00::1]:22', where), { host: 'fd00::1', port: 22 });
  t.same(parseJump('ssh://alice@[fd00::1]:2200/', where), { host: 'fd00::1', user: 'alice', port: 2200 });
  t.same(parseJumpList('a, b:23', where), [{ host: 'a' }, { host: 'b', port: 23 }]);
  t.throws(() => parseJump('bastion:0', where), { message: '/cfg:3: ProxyJump: invalid jump host "bastion:0" ("0" is not a port number)' });
  t.throws(() => parseJump('ssh://h/path', where), /a path is not allowed/);
  t.throws(() => parseJump('[fd00::1', where), /unbalanced/);
  t.throws(() => parseJump('user@', where), /no host/);
});

t.test('each hop resolves as OpenSSH resolves it (ssh -G of the proxy process it would start)', async (t) => {
  const { file, ctx } = fixture(t);
  for (const host of ['node7', 'gw', 'chain', 'uri', 'behind-cmd', 'login']) {
    const ours = route(file, ctx, host).jumps;
    const theirs = opensshHops(file, [host]);
    t.same(ours.map((h) => [h.hostname, h.user, String(h.port)]), theirs.map((g) => [g.hostname, g.user, g.port]), `${host}: the same hops, in the same order`);
  }
  const node = route(file, ctx, 'node7');
  t.match(node.jumps, [
    { host: 'login', hostname: '10.1.0.1', user: 'ops', port: 2222, identityFiles: [join(ctx.home, 'login_key')], userKnownHostsFiles: [join(ctx.home, 'kh_login')], hostKeyAlias: 'login.example' },
    { host: 'gw', hostname: '10.2.0.1', user: 'gwuser', port: 22 },
  ], 'a hop gets its own User, Port, IdentityFile, known hosts and HostKeyAlias from its own Host block');
  const chain = route(file, ctx, 'chain').jumps;
  t.match(chain, [{ host: 'login', user: 'admin', port: 22 }, { host: 'gw', user: 'gwuser' }], 'user@host:port beats the hop\'s config; the chain beats gw\'s own ProxyJump');
  t.same(route(file, ctx, 'login'), { jumps: [] });
});

t.test('ProxyCommand: tokens expanded and quoted as one word each; on the first hop of a chain', async (t) => {
  const { file, ctx } = fixture(t);
  const cmd = route(file, ctx, 'via-cmd');
  t.same(cmd.jumps, []);
  t.equal(cmd.proxyCommand!.command, `ssh -W 10.4.0.4:22 login # 'o'\\''brien' via-cmd %`);
  t.match(cmd.proxyCommand!.where, { file, line: lineOf(file, 'ProxyCommand ssh -W') });
  const behind = route(file, ctx, 'behind-cmd');
  t.match(behind, { jumps: [{ host: 'cmdgw', hostname: '10.5.0.1' }], proxyCommand: { command: 'nc -q0 10.5.0.1 22' } }, 'the command carries the first hop, not the host');
});

t.test('loops and bad values are refused before any connection', async (t) => {
  const { file, ctx } = fixture(t, 'bad.conf');
  t.throws(() => route(file, ctx, 'self'), { message: `${file}:${lineOf(file, 'ProxyJump self')}: ProxyJump loop: self (${me.username}@self:22) <- self (${me.username}@self:22)` });
  t.throws(() => route(file, ctx, 'ring-a'), /ProxyJump loop: ring-a .* <- ring-b .* <- ring-a/);
  t.throws(() => route(file, ctx, 'bad-port'), /ProxyJump: invalid jump host "login:99999"/);
  t.throws(() => route(file, ctx, 'bad-user'), /empty user/);
  t.throws(() => route(file, ctx, 'bad-token'), new RegExp(`bad.conf:${lineOf(file, '%x')}: ProxyCommand: unknown token %x`));
  t.throws(() => execFileSync('ssh', ['-G', '-F', file, 'bad-port'], { stdio: 'ignore' }), 'OpenSSH refuses these values too');
});

t.test('connection options: -J and -o ProxyJump= in ansible_ssh_common_args, none, inventory vars stay with the host', async (t) => {
  const { file, ctx } = fixture(t);
  const host = (name: string, vars: Record<string, unknown>) => ({ name, groups: [], vars: { ansible_ssh_common_args: `-F ${file}`, ...vars } });
  const opts = (name: string, vars: Record<string, unknown> = {}): ConnectOptions => connectOptions(host(name, vars), { timeoutMs: 7000 }, ctx);
  const viaJ = opts('plain', { ansible_ssh_common_args: `-F ${file} -J gw`, ansible_user: 'inv', ansible_ssh_private_key_file: '/inv_key', smbdirect_known_hosts: '/kh' });
  t.match(viaJ, { user: 'inv', address: 'plain', route: { jumps: [{ host: 'login', user: 'ops', keyFiles: [join(ctx.home, 'login_key')], knownHosts: ['/kh'] }, { host: 'gw', user: 'gwuser', knownHosts: ['/kh'] }] } });
  t.notOk(viaJ.route.jumps.some((j) => j.user === 'inv' || j.keyFiles.includes('/inv_key')), 'ansible_user and the key are the host\'s, not its jump hosts\' (OpenSSH passes the hop no -l/-i)');
  t.equal(viaJ.route.jumps[1]!.timeoutMs, 7000, 'a hop without ConnectTimeout takes the CLI timeout');
  t.same(opts('node3', { ansible_ssh_extra_args: '-o ProxyJump=none' }).route, { jumps: [] }, 'ProxyJump=none on the command line beats the file');
  t.same(opts('node3', { ansible_ssh_common_args: `-F ${file} -o ProxyCommand=none` }).route, { jumps: [] }, 'so does ProxyCommand=none: the first of the two wins');
  t.match(opts('node3', { ansible_ssh_common_args: `-F ${file} -o ProxyJump=ops@10.9.9.9:2022` }).route.jumps, [{ host: '10.9.9.9', address: '10.9.9.9', user: 'ops', port: 2022 }]);
  t.same(opts('node3', { ansible_connection: 'local' }).route, { jumps: [] });
});

t.test('smbdirect inventory --host shows the chain', async (t) => {
  const { file, ctx } = fixture(t);
  const s = connectionSummary({ name: 'node7', groups: [], vars: { ansible_ssh_common_args: `-F ${file}` } }, { timeoutMs: 5000 }, ctx);
  t.equal(s.route, 'ops@10.1.0.1:2222 (login) -> gwuser@10.2.0.1:22 (gw) -> root@node7.cluster:22 (node7)');
  t.match(s.jump_hosts, [{ host: 'login', address: '10.1.0.1', port: 2222, user: 'ops', host_key_alias: 'login.example', sources: { hostname: `${file} line 5` } }, { host: 'gw' }]);
  t.equal(s.proxy_jump, 'gw');
  const c = connectionSummary({ name: 'behind-cmd', groups: [], vars: { ansible_ssh_common_args: `-F ${file}` } }, { timeoutMs: 5000 }, ctx);
  t.equal(c.route, `ProxyCommand nc -q0 10.5.0.1 22 -> ${me.username}@10.5.0.1:22 (cmdgw) -> ${me.username}@10.5.0.2:22 (behind-cmd)`);
  t.notOk('unsupported' in c);
});

t.test('ProxyCommand socket: the child\'s stdio is the stream; destroying it ends the child', async (t) => {
  const { ProxyCommandSocket } = await import('../src/connection/proxy-command.js');
  const sock = new ProxyCommandSocket('cat');
  const echoed = new Promise<string>((resolve) => sock.once('data', (b: Buffer) => resolve(b.toString())));
  sock.write('hello\n');
  t.equal(await echoed, 'hello\n');
  const pid = (sock as unknown as { child: { pid: number } }).child.pid;
  t.ok(existsSync(`/proc/${pid}`), 'cat runs');
  sock.destroy();
  for (let i = 0; i < 40 && !sock.exited; i++) await new Promise((r) => setTimeout(r, 25));
  t.match(sock.describe(), /^ProxyCommand killed by SIGTERM/);
});

t.test('a ProxyCommand that exits before the handshake: its status and stderr, UNREACHABLE', async (t) => {
  const { openConnection } = await import('../src/connection/index.js');
  const dir = t.testdir({ config: `Host via-fail\n  HostName 10.4.0.4\n  ProxyCommand sh -c 'echo "gw: no route to %h" >&2; exit 3'\n`, key: 'not a key' });
  await t.rejects(
    openConnection({ name: 'via-fail', groups: [], vars: { ansible_ssh_common_args: `-F ${dir}/config`, ansible_ssh_private_key_file: `${dir}/key` } }, { timeoutMs: 3000, acceptNew: false }),
    { name: 'UnreachableError', message: 'ProxyCommand exited with code 3: gw: no route to 10.4.0.4' },
  );
});
