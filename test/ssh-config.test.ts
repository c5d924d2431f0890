// The ssh_config resolver against the real OpenSSH client (`ssh -G` prints the resolved settings
// without connecting; `ssh -v` with ProxyCommand=false prints the expanded identity files), then the
// semantics one by one, with a temporary HOME for ~/.ssh/config and relative Includes.
import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSshArgs, resolveSshConfig, type ResolveContext, type ResolvedSsh } from '../src/connection/ssh-config.js';
import { shlexSplit } from '../src/inventory/shlex.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/ssh-config/', import.meta.url));
const me = userInfo();
const realCtx: ResolveContext = { home: me.homedir, localUser: me.username, uid: me.uid, localHostname: hostname(), env: process.env };
const DEFAULT_IDS = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((n) => `~/.ssh/${n}`);

/** A fixture copied to a temp dir with @DIR@ replaced, and the aliases/options from its header. */
function fixture(t: Test, name: string): { file: string; aliases: string[]; args: string[] } {
  const dir = t.testdir({});
  cpSync(FIXTURES, dir, { recursive: true });
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else writeFileSync(p, readFileSync(p, 'utf8').replaceAll('@DIR@', dir));
    }
  };
  walk(dir);
  const text = readFileSync(join(dir, name), 'utf8');
  return {
    file: join(dir, name),
    aliases: /^# aliases: (.*)$/m.exec(text)![1]!.split(' '),
    args: shlexSplit(/^# options: (.*)$/m.exec(text)?.[1] ?? ''),
  };
}

function sshG(file: string, args: string[], alias: string): Map<string, string[]> {
  const out = execFileSync('ssh', ['-G', '-F', file, ...args, alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0) m.set(line.slice(0, i), [...(m.get(line.slice(0, i)) ?? []), line.slice(i + 1)]);
  }
  return m;
}

/** Our result in `ssh -G`'s words, for the keywords we resolve. */
function asSshG(r: ResolvedSsh): Record<string, string[] | undefined> {
  const strict = { yes: 'true', no: 'false', 'accept-new': 'accept-new', ask: 'ask' };
  return {
    hostname: [r.hostname],
    user: [r.user],
    port: [String(r.port)],
    identityfile: r.identityFileSpecs.length ? r.identityFileSpecs : DEFAULT_IDS,
    identitiesonly: [r.identitiesOnly ? 'yes' : 'no'],
    identityagent: r.identityAgent ? [r.identityAgent] : undefined,
    proxyjump: r.proxyJump ? [r.proxyJump] : undefined,
    proxycommand: r.proxyCommand ? [r.proxyCommand] : undefined,
    connecttimeout: [r.connectTimeout === undefined ? 'none' : String(r.connectTimeout)],
    serveraliveinterval: [String(r.serverAliveInterval ?? 0)],
    serveralivecountmax: [String(r.serverAliveCountMax ?? 3)],
    stricthostkeychecking: [strict[r.strictHostKeyChecking ?? 'ask']],
    userknownhostsfile: [(r.userKnownHostsFiles ?? [`${me.homedir}/.ssh/known_hosts`, `${me.homedir}/.ssh/known_hosts2`]).join(' ')],
    hostkeyalias: r.hostKeyAlias ? [r.hostKeyAlias] : undefined,
  };
}

/** The identity files ssh would try, expanded (ssh -v logs them before the proxy command fails). */
function sshIdentityFiles(file: string, args: string[], alias: string): string[] {
  const r = spawnSync('ssh', ['-v', '-F', file, '-o', 'ProxyCommand=false', '-o', 'BatchMode=yes', ...args, alias, 'true'], { encoding: 'utf8' });
  return [...r.stderr.matchAll(/^debug1: identity file (.*) type -?\d+$/gm)].map((m) => m[1]!).filter((f) => !f.endsWith('-cert'));
}

t.test('resolves every fixture alias exactly as ssh -G does', async (t) => {
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith('.conf'))) {
    const fx = fixture(t, name);
    for (const alias of fx.aliases) {
      const { options } = parseSshArgs(fx.args);
      const ours = resolveSshConfig({ host: alias, options, configFile: fx.file }, realCtx);
      const theirs = sshG(fx.file, fx.args, alias);
      const want = asSshG(ours);
      for (const [k, v] of Object.entries(want)) t.same(theirs.get(k), v, `${name} ${alias}: ${k}`);
      if (ours.identityFileSpecs.length) {
        t.same(sshIdentityFiles(fx.file, fx.args, alias), ours.identityFiles, `${name} ${alias}: identity files expanded`);
      }
    }
  }
});

/** A HOME with .ssh/config (and other files) for the semantics below. */
function home(t: Test, files: Record<string, string>): ResolveContext {
  const dir = t.testdir({});
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return { home: dir, localUser: 'me', uid: me.uid, localHostname: 'ctl.example.org', env: { AGENT: '/run/agent.sock' } };
}
const resolve = (ctx: ResolveContext, host: string, words: string[] = []) => {
  const a = parseSshArgs(words);
  return resolveSshConfig({ host, options: a.options, configFile: a.configFile }, ctx);
};

t.test('~/.ssh/config is the default; a relative Include is relative to ~/.ssh', async (t) => {
  const ctx = home(t, {
    '.ssh/config': 'Include conf.d/*\nHost web1\n  User root\n  IdentityFile %d/.ssh/k_%u_%l_%L_%i\n',
    '.ssh/conf.d/a': 'Host web1\n  HostName 10.1.1.1\n',
    '.ssh/conf.d/.hidden': 'Host *\n  Port 1\n',
  });
  const r = resolve(ctx, 'web1');
  t.equal(r.hostname, '10.1.1.1');
  t.equal(r.port, 22, 'hidden files are not matched by *');
  t.equal(r.user, 'root');
  t.same(r.identityFiles, [`${ctx.home}/.ssh/k_me_ctl.example.org_ctl_${me.uid}`]);
  t.same(r.files, [join(ctx.home, '.ssh/config'), join(ctx.home, '.ssh/conf.d/a')]);
  t.same(r.sources.hostname, { file: join(ctx.home, '.ssh/conf.d/a'), line: 2 });
  t.equal(resolve(ctx, 'web1', ['-F', 'none']).hostname, 'web1', '-F none reads no file');
});

t.test('command-line options come first: -o, -oKey=Value, -o "Key Value", -i/-p/-l/-J', async (t) => {
  const ctx = home(t, { '.ssh/config': 'Host h\n  User u\n  Port 1\n  IdentityFile /f\n  ConnectTimeout 5\n' });
  const r = resolve(ctx, 'h', ['-C', '-o', 'User=x', '-oPort=2', '-o', 'ConnectTimeout 9', '-i', '/cmd', '-4J', 'jump']);
  t.equal(r.user, 'x');
  t.equal(r.port, 2);
  t.equal(r.connectTimeout, 9);
  t.same(r.identityFileSpecs, ['/cmd', '/f'], 'identity files accumulate, command line first');
  t.equal(r.proxyJump, 'jump');
  t.throws(() => resolve(ctx, 'h', ['-o', 'Host=x']), /Host is not allowed on the command line|host is not allowed/);
});

t.test('IdentitiesOnly, IdentityAgent, ServerAlive, StrictHostKeyChecking, HostKeyAlias, UserKnownHostsFile', async (t) => {
  const ctx = home(t, {
    '.ssh/config': [
      'Host a', '  IdentitiesOnly yes', '  IdentityAgent ${AGENT}', '  ServerAliveInterval 2m', '  ServerAliveCountMax 4',
      '  StrictHostKeyChecking off', '  HostKeyAlias Storage-1', '  UserKnownHostsFile ~/kh_%k_%n "%d/kh two"',
      'Host b', '  IdentityAgent $AGENT', '',
    ].join('\n'),
  });
  const a = resolve(ctx, 'a');
  t.equal(a.identitiesOnly, true);
  t.equal(a.identityAgent, '/run/agent.sock');
  t.equal(a.serverAliveInterval, 120);
  t.equal(a.serverAliveCountMax, 4);
  t.equal(a.strictHostKeyChecking, 'no');
  t.equal(a.hostKeyAlias, 'storage-1');
  t.same(a.userKnownHostsFiles, [`${ctx.home}/kh_storage-1_a`, `${ctx.home}/kh two`]);
  t.equal(resolve(ctx, 'b').identityAgent, '/run/agent.sock', 'IdentityAgent $VAR');
  writeFileSync(join(ctx.home, '.ssh/config'), 'StrictHostKeyChecking maybe\n');
  t.throws(() => resolve(ctx, 'b'), { message: `${ctx.home}/.ssh/config:1: StrictHostKeyChecking: expected yes, accept-new, no or ask, got "maybe"` });
});

t.test('Match and Host semantics', async (t) => {
  const ctx = home(t, {
    '.ssh/config': [
      'Host *.prod !bad.prod', '  User produser',
      'Match host web?.prod,!web9.prod user produser', '  Port 2000',
      'Match !originalhost *.prod', '  Port 3000',
      'Match localuser me', '  ConnectTimeout 4',
      'Match host bad.prod exec "false"', '  Port 1',
    ].join('\n'),
  });
  const web1 = resolve(ctx, 'web1.prod');
  t.equal(web1.port, 2000);
  t.equal(web1.user, 'produser');
  t.equal(web1.connectTimeout, 4);
  t.equal(resolve(ctx, 'web9.prod').port, 22, 'negated entry in a comma list');
  t.equal(resolve(ctx, 'other').port, 3000, '!originalhost');
  t.throws(() => resolve(ctx, 'bad.prod'), /config:9: Match exec is not supported/, 'exec reached: refused, never guessed');
});

t.test('Include: conditional, first value wins across files, depth limit', async (t) => {
  const ctx = home(t, {
    '.ssh/config': 'Host a\n  Include inc\nHost *\n  Include loop\n',
    '.ssh/inc': 'HostName from-inc\nHost b\n  User never\n',
    '.ssh/loop': 'Include loop\n',
  });
  t.throws(() => resolve(ctx, 'a'), /loop:1: Include nested more than 16 deep/);
  writeFileSync(join(ctx.home, '.ssh/loop'), 'Port 7\n');
  const a = resolve(ctx, 'a');
  t.equal(a.hostname, 'from-inc');
  t.equal(a.port, 7);
  const b = resolve(ctx, 'b');
  t.equal(b.user, 'me', 'an Include inside a block that did not match never matches inside');
  t.equal(b.hostname, 'b');
});

t.test('tokens and ~ where OpenSSH expands them', async (t) => {
  const ctx = home(t, { '.ssh/config': 'Host t\n  HostName %h.x\n  User %r\n  Port 2022\n  IdentityFile ~/%h_%p_%r_%n_%%_%d_%u\n  ProxyCommand nc %h %p\n  HostKeyAlias %h\n' });
  const r = resolve(ctx, 't', ['-o', 'User=admin']);
  t.equal(r.user, 'admin');
  t.same(r.identityFiles, [`${ctx.home}/t.x_2022_admin_t_%_${ctx.home}_me`]);
  t.equal(r.proxyCommand, 'nc %h %p', 'ProxyCommand is shown as written');
  t.equal(r.hostKeyAlias, '%h', 'HostKeyAlias takes no tokens');
  writeFileSync(join(ctx.home, '.ssh/config'), 'Host t\n  IdentityFile ~/%Z\n');
  t.throws(() => resolve(ctx, 't'), /config:2: IdentityFile: unknown token %Z/);
});

t.test('errors name the file and line', async (t) => {
  const ctx = home(t, { '.ssh/config': '\nHost x\n  HostName a b\n' });
  const cfg = join(ctx.home, '.ssh/config');
  t.throws(() => resolve(ctx, 'x'), { message: `${cfg}:3: hostname: extra arguments at end of line` });
  t.throws(() => resolve(ctx, 'other'), /config:3: hostname: extra/, 'checked in a block that does not match too, as ssh does');
  writeFileSync(cfg, 'Host y\n  User "open\n');
  t.throws(() => resolve(ctx, 'y'), /config:2: unterminated quote/);
  writeFileSync(cfg, 'Host z\n  Port 99999\n');
  t.throws(() => resolve(ctx, 'z'), /config:2: Port: "99999" is not a port number/);
  t.throws(() => resolve(ctx, 'z', ['-F', join(ctx.home, 'missing')]), /missing:0: ssh config file \(-F\) not found/);
  chmodSync(join(ctx.home, '.ssh/config'), 0o666);
  t.throws(() => resolve(ctx, 'q'), /bad owner or permissions/, 'a config others can write is refused, as ssh does');
});

t.test('connection options: Ansible order (ssh_args, inventory variables, common args, extra args, files)', async (t) => {
  const { connectOptions } = await import('../src/connection/options.js');
  const ctx = home(t, {
    '.ssh/config': 'Host web1\n  HostName 10.0.0.1\n  User cfg\n  Port 2200\n  IdentityFile ~/cfg_key\n  ServerAliveInterval 9\n  UserKnownHostsFile ~/kh\n',
    alt: 'Host web1\n  HostName 10.0.0.2\n  ProxyJump bastion\n',
  });
  const host = (vars: Record<string, unknown>) => ({ name: 'web1', groups: [], vars });
  const o = connectOptions(host({}), { timeoutMs: 1000 }, ctx);
  t.match(o, { address: '10.0.0.1', user: 'cfg', port: 2200, keyFiles: [`${ctx.home}/cfg_key`], keepaliveIntervalMs: 9000, knownHosts: [`${ctx.home}/kh`], timeoutMs: 1000 });
  const v = connectOptions(host({ ansible_user: 'inv', ansible_port: 22, ansible_ssh_private_key_file: '/inv_key', ansible_timeout: 3 }), { timeoutMs: 1000 }, ctx);
  t.match(v, { user: 'inv', port: 22, keyFiles: ['/inv_key', `${ctx.home}/cfg_key`], timeoutMs: 3000 }, 'inventory variables win; keys add up');
  const args = connectOptions(host({ ansible_user: 'inv', ansible_ssh_args: '-o User=first', ansible_ssh_common_args: '-o User=late -o Port=2', ansible_ssh_extra_args: '-o Port=3' }), { timeoutMs: 1000 }, ctx);
  t.match(args, { user: 'first', port: 2 }, 'ansible_ssh_args come before the inventory variables, as in Ansible');
  t.equal(connectOptions(host({ ansible_host: 'other' }), { timeoutMs: 1000 }, ctx).address, 'other', 'ansible_host is the name looked up');
  const jump = connectOptions(host({ ansible_ssh_common_args: `-F ${ctx.home}/alt` }), { timeoutMs: 1000 }, ctx);
  t.match(jump, { address: '10.0.0.2', route: { jumps: [{ host: 'bastion', address: 'bastion', port: 22 }] } });
  t.equal(connectOptions(host({ smbdirect_known_hosts: '/kh', ansible_connection: 'local' }), { timeoutMs: 1000 }, ctx).local, true);
  const { openConnection } = await import('../src/connection/index.js');
  // the jump host is a closed loopback port: the host is never tried directly instead
  await t.rejects(
    openConnection(host({ ansible_ssh_common_args: `-F ${ctx.home}/alt -o ProxyJump=127.0.0.1:9`, ansible_ssh_private_key_file: '/nonexistent' }), { timeoutMs: 1000, acceptNew: false }),
    // (refused, or no key to offer it: either way the failure is the jump host's)
    { name: 'UnreachableError', message: /^cannot reach 127\.0\.0\.1 \(jump host for web1\): (connection refused by|no key to log in to) 127\.0\.0\.1/ },
  );
});

t.test('host key policy: the flag beats the file; no and accept-new accept unknown keys only', async (t) => {
  const { hostKeyMode } = await import('../src/connection/ssh.js');
  const where = { file: '/c', line: 4 };
  const mode = (value: 'yes' | 'no' | 'accept-new' | 'ask' | undefined, acceptNew = false) =>
    hostKeyMode({ strictHostKeyChecking: value && { value, where } }, { acceptNew });
  t.same(mode(undefined), { accept: false, why: '' }, 'default: strict');
  t.same(mode('yes', true), { accept: true, why: '' });
  t.equal(mode('no').accept, true);
  t.equal(mode('accept-new').accept, true);
  t.same(mode('yes'), { accept: false, why: 'StrictHostKeyChecking yes (/c line 4) refuses it; ' });
  t.match(mode('ask').why, /cannot ask here/);
});
