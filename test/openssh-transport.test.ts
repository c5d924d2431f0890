// The OpenSSH transport without a network: its argv (checked against the real client: `ssh -G`
// prints what our options resolve to, without connecting), ssh_config quoting, no secret in any
// argv, and the rule that chooses ssh2 or OpenSSH per host (client-choice.ts) on fixture files.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BecomeError } from '../src/connection/become.js';
import { chooseClient } from '../src/connection/client-choice.js';
import { UnreachableError } from '../src/connection/errors.js';
import { OpensshConnection } from '../src/connection/openssh.js';
import { configWord, masterArgs, sessionArgs, sshArgs, strictMode } from '../src/connection/openssh-args.js';
import { connectOptions } from '../src/connection/options.js';
import type { ResolveContext } from '../src/connection/ssh-config.js';
import type { HostSpec } from '../src/types.js';

/** A controller whose home is a test dir holding `config` as ~/.ssh/config (and any other files). */
function controller(t: Test, config = '', files: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}): ResolveContext {
  const home = t.testdir({});
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  writeFileSync(join(home, '.ssh', 'config'), config.replaceAll('@HOME@', home), { mode: 0o600 });
  for (const [n, text] of Object.entries(files)) writeFileSync(join(home, n), text, { mode: 0o600 });
  return { home, localUser: 'me', uid: process.getuid!(), localHostname: 'ctl', env };
}
const host = (vars: Record<string, unknown>): HostSpec => ({ name: 'node7', groups: ['all'], vars, origins: {} });
const open = (vars: Record<string, unknown>, ctx: ResolveContext) => connectOptions(host(vars), { timeoutMs: 10_000 }, ctx);
const CONTROL = { path: '/tmp/smbdirect-ssh-X/m0', users: false };

/** `ssh -G` of our argv: what OpenSSH makes of it (no connection is made). */
function resolvedBySsh(args: string[]): Map<string, string[]> {
  const out = execFileSync('ssh', ['-G', ...args], { encoding: 'utf8', env: { ...process.env, HOME: '/nonexistent' } });
  const m = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const [k, ...v] = line.split(' ');
    if (k) m.set(k, [...(m.get(k) ?? []), v.join(' ')]);
  }
  return m;
}

t.test('configWord: ssh_config quoting of -o values', async (t) => {
  t.equal(configWord('/a/b'), '/a/b');
  t.equal(configWord('/a b/c'), '"/a b/c"');
  t.equal(configWord(''), '""');
  t.throws(() => configWord('a"b'), /double quote/);
  t.throws(() => configWord('a\nProxyCommand x'), /line break/);
});

t.test('strictMode: no is accept-new (a changed key is never accepted), ask cannot ask', async (t) => {
  const at = { file: 'f', line: 1 };
  const m = (value?: 'yes' | 'no' | 'accept-new' | 'ask', acceptNew = false) => strictMode({ strictHostKeyChecking: value ? { value, where: at } : undefined }, { acceptNew });
  t.same([m(), m('yes'), m('ask'), m('no'), m('accept-new'), m('yes', true)], ['yes', 'yes', 'yes', 'accept-new', 'accept-new', 'accept-new']);
});

t.test('sshArgs: what OpenSSH resolves from them is the resolved connection', async (t) => {
  const ctx = controller(t, 'Host node7\n  GSSAPIAuthentication yes\n');
  const key = join(ctx.home, 'my keys/id %h');
  const known = join(ctx.home, 'kh %d');
  const o = open({
    ansible_host: 'node7', ansible_port: 2222, ansible_user: 'op', ansible_ssh_private_key_file: key, smbdirect_known_hosts: known,
    ansible_ssh_common_args: `-F ${join(ctx.home, '.ssh/config')} -o ProxyJump=bastion1,bastion2 -o HostName=10.0.0.7 -o ForwardX11=no -o ControlPersist=5`,
  }, ctx);
  const args = sshArgs(o, { acceptNew: false }, CONTROL);
  t.same(args.slice(-2), ['--', 'node7'], 'the destination last, after --: never read as an option');
  const g = resolvedBySsh(args);
  t.same(g.get('hostname'), ['10.0.0.7']);
  t.same(g.get('port'), ['2222']);
  t.same(g.get('user'), ['op']);
  // ansible_ssh_private_key_file is an IdentityFile on ssh's command line: %h is expanded once, by the resolver
  t.same(g.get('identityfile'), [key.replace('%h', '10.0.0.7')], 'a path with a space is one path');
  t.same(g.get('userknownhostsfile'), [known], 'a % in a resolved path stays literal');
  t.same(g.get('globalknownhostsfile'), ['none'], 'only the known_hosts files ssh2 reads');
  t.same(g.get('stricthostkeychecking'), ['true']);
  t.same(g.get('batchmode'), ['yes'], 'never a prompt');
  t.same(g.get('controlpath'), [CONTROL.path]);
  t.same(g.get('proxyjump'), ['bastion1,bastion2']);
  t.same(g.get('forwardx11'), ['no'], 'the user\'s -o for what we do not read is passed on');
  t.same(g.get('gssapiauthentication'), ['yes'], 'the -F file is read for the rest');
  t.same(g.get('controlpersist'), ['no'], 'ControlPersist is ours (the master sets it)');
  t.same(g.get('connecttimeout'), ['10']);
  t.same(resolvedBySsh(masterArgs(args)).get('controlpersist'), ['600']);
});

t.test('the remote command is POSIX-quoted, the script never in argv', async (t) => {
  const ctx = controller(t);
  const o = open({ ansible_host: '10.0.0.7', ansible_user: 'op', ansible_become: true, ansible_become_user: 'web admin', ansible_become_flags: '-H -E' }, ctx);
  const s = sessionArgs(sshArgs(o, { acceptNew: false }, CONTROL), `sudo -n -H -E -u 'web admin' sh -s`);
  t.equal(s.at(-1), `sudo -n -H -E -u 'web admin' sh -s`);
  t.same(s.slice(0, 3), ['-T', '-o', 'ControlMaster=no']);
});

t.test('no secret in any argv: a login or become password is refused before ssh starts', async (t) => {
  const ctx = controller(t);
  const o = open({ ansible_host: '10.0.0.7', ansible_user: 'op', ansible_password: 'pw-login-1', ansible_become: true, ansible_become_password: 'pw-become-2', smbdirect_ssh_client: 'openssh' }, ctx);
  const all = [...masterArgs(sshArgs(o, { acceptNew: false }, CONTROL)), ...sessionArgs(sshArgs(o, { acceptNew: false }, CONTROL), 'sh -s')].join('\n');
  t.notMatch(all, /pw-login-1|pw-become-2/);
  await t.rejects(OpensshConnection.open(o, { acceptNew: false }), new UnreachableError(''), 'a login password: UNREACHABLE');
  await t.rejects(OpensshConnection.open(o, { acceptNew: false }), /never gives a login password \(ansible_password/);
  const { password: _, ...noLogin } = o;
  await t.rejects(OpensshConnection.open(noLogin, { acceptNew: false }), BecomeError, 'a become password: FAILED');
});

t.test('no ssh on PATH: UNREACHABLE naming the package, the run directory given back', async (t) => {
  const o = open({ ansible_host: '10.0.0.7', ansible_user: 'op', smbdirect_ssh_client: 'openssh' }, controller(t));
  const path = process.env.PATH;
  process.env.PATH = t.testdir({});
  t.teardown(() => { process.env.PATH = path; });
  await t.rejects(OpensshConnection.open(o, { acceptNew: false }), { name: 'UnreachableError', message: /`ssh` is not installed here \(Debian package openssh-client\)/ });
});

t.test('auto: ssh2 unless the configuration needs OpenSSH', async (t) => {
  const pub = (type: string) => `${type} AAAAC3NzaC1lZDI1NTE5AAAAIEx key\n`;
  const choose = (t: Test, config: string, vars: Record<string, unknown> = {}, files: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) =>
    open({ ansible_host: '10.0.0.7', ...vars }, controller(t, config, files, env)).client!;
  t.same(choose(t, ''), { client: 'ssh2', why: 'auto: the default; nothing in the configuration needs OpenSSH' });
  t.match(choose(t, 'Host *\n  ControlPath ~/.ssh/cm-%C\n'), { client: 'openssh', why: /^auto: ControlPath ~\/.ssh\/cm-%C is set \(.*config line 2\)/ });
  t.match(choose(t, '', { ansible_ssh_args: '-o ControlMaster=auto -o ControlPath=/tmp/cm-%r' }), { client: 'openssh', why: /ControlPath \/tmp\/cm-%r is set \(ansible_ssh_args/ });
  t.match(choose(t, 'Host *\n  PKCS11Provider /usr/lib/opensc-pkcs11.so\n'), { client: 'openssh', why: /PKCS11Provider/ });
  t.match(choose(t, 'Host *\n  PKCS11Provider none\n'), { client: 'ssh2' });
  t.match(choose(t, 'Host *\n  CertificateFile @HOME@/id-cert.pub\n'), { client: 'openssh', why: /CertificateFile .*id-cert.pub is set/ });
  const keyVars = (home: string) => ({ ansible_ssh_private_key_file: join(home, 'k') });
  // the key paths are in the test dir: resolve them after it exists
  const withKey = (t: Test, files: Record<string, string>) => {
    const ctx = controller(t, '', files);
    return open({ ansible_host: '10.0.0.7', ...keyVars(ctx.home) }, ctx).client!;
  };
  t.match(withKey(t, { k: 'x', 'k.pub': pub('ssh-ed25519') }), { client: 'ssh2' }, 'a plain key');
  t.match(withKey(t, { k: 'x', 'k.pub': pub('sk-ssh-ed25519@openssh.com') }), { client: 'openssh', why: /security key \(sk-ssh-ed25519@openssh.com\)/ });
  t.match(withKey(t, { k: 'x', 'k.pub': pub('ssh-ed25519'), 'k-cert.pub': pub('ssh-ed25519-cert-v01@openssh.com') }), { client: 'openssh', why: /k-cert.pub exists/ });
  t.match(choose(t, 'Host *\n  GSSAPIAuthentication yes\n'), { client: 'openssh', why: /GSSAPIAuthentication yes .* and no key or agent/ });
  t.match(choose(t, 'Host *\n  GSSAPIAuthentication yes\n', {}, {}, { SSH_AUTH_SOCK: '/run/agent.sock' }), { client: 'ssh2' }, 'with an agent, ssh2 can log in');
  t.match(choose(t, 'Host *\n  ControlPath ~/cm\n', { smbdirect_ssh_client: 'ssh2' }), { client: 'ssh2', why: /^smbdirect_ssh_client ssh2/ }, 'asked for: no fallback');
  t.match(choose(t, '', { smbdirect_ssh_client: 'OpenSSH' }), { client: 'openssh' });
  t.throws(() => choose(t, '', { smbdirect_ssh_client: 'putty' }), /smbdirect_ssh_client must be one of auto, ssh2, openssh \(got "putty"/);
  t.end();
});

t.test('chooseClient reads only the resolved config it is given', async (t) => {
  const ssh = { host: 'h', hostname: 'h', user: 'u', port: 22, identityFileSpecs: [], identityFiles: [], identitiesOnly: false, sources: {}, files: [] };
  t.same(chooseClient(undefined, 'x', ssh, { keyFiles: [], defaultKeyFiles: [] }).client, 'ssh2');
  t.same(chooseClient(undefined, 'x', { ...ssh, gssapiAuthentication: true }, { keyFiles: [], defaultKeyFiles: [] }).client, 'openssh');
});
