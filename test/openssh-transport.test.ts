// The OpenSSH transport without a network: its argv (checked against the real client: `ssh -G`
// prints what our options resolve to, without connecting), ssh_config quoting, no secret in any
// argv, and the rule that chooses ssh2 or OpenSSH per host (client-choice.ts) on fixture files.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { becomeCommand } from '../src/connection/become.js';
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

t.test('no secret in any argv: a login password is refused before ssh starts; a become password is for stdin', async (t) => {
  const ctx = controller(t);
  const o = open({ ansible_host: '10.0.0.7', ansible_user: 'op', ansible_password: 'pw-login-1', ansible_become: true, ansible_become_password: 'pw-become-2', smbdirect_ssh_client: 'openssh' }, ctx);
  const become = becomeCommand(o);
  t.ok(become.auth, 'a become password: the conversation (become.ts) is held on the session\'s stdin');
  const all = [...masterArgs(sshArgs(o, { acceptNew: false }, CONTROL)), ...sessionArgs(sshArgs(o, { acceptNew: false }, CONTROL), become.command)].join('\n');
  t.notMatch(all, /pw-login-1|pw-become-2/);
  t.match(all, /sudo -S -p '\[sudo via smbdirect, key=/, 'the session runs sudo -S with our prompt');
  await t.rejects(OpensshConnection.open(o, { acceptNew: false }), new UnreachableError(''), 'a login password: UNREACHABLE');
  await t.rejects(OpensshConnection.open(o, { acceptNew: false }), /never gives a login password \(ansible_password/);
  // without the login password it goes on to start ssh (none on this PATH: the error says so, no refusal)
  const { password: _, ...noLogin } = o;
  const path = process.env.PATH;
  process.env.PATH = t.testdir({});
  t.teardown(() => { process.env.PATH = path; });
  await t.rejects(OpensshConnection.open(noLogin, { acceptNew: false }), { name: 'UnreachableError', message: /`ssh` is not installed here/ }, 'a become password is no longer refused');
});

t.test('no ssh on PATH: UNREACHABLE naming the package, the run directory given back', async (t) => {
  const o = open({ ansible_host: '10.0.0.7', ansible_user: 'op', smbdirect_ssh_client: 'openssh' }, controller(t));
  const path = process.env.PATH;
  process.env.PATH = t.testdir({});
  t.teardown(() => { process.env.PATH = path; });
  await t.rejects(OpensshConnection.open(o, { acceptNew: false }), { name: 'UnreachableError', message: /`ssh` is not installed here \(Debian package openssh-client\)/ });
});

t.test('become with a password over the ssh child\'s pipes (a fake ssh on PATH playing sudo -S)', async (t) => {
  // The fake: a master or -O returns at once; a session is sudo -S with the prompt and marker of its
  // command: the password checked from its stdin, then the script read to EOF. It logs its stdin and
  // exits 255 on SIGTERM, as OpenSSH's mux client does.
  const ctx = controller(t); // t.testdir: made once per test (a second call would empty it)
  const bin = join(ctx.home, 'bin');
  mkdirSync(bin);
  const log = join(bin, 'stdin.log');
  writeFileSync(join(bin, 'ssh'), `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
if (args.includes('-M') || args.includes('-O')) process.exit(0);
const mode = fs.readFileSync(${JSON.stringify(join(bin, 'mode'))}, 'utf8');
const command = args.at(-1);
const prompt = /-p '([^']*)'/.exec(command)[1];
const marker = /BECOME-SUCCESS-[0-9a-f]+/.exec(command)[0];
process.on('SIGTERM', () => process.exit(255));
let input = '';
let authed = false;
process.stderr.write('lecture\\n' + prompt);
if (mode === 'lost') { process.stderr.write('\\nConnection to 10.0.0.7 closed by remote host.\\n'); process.exit(255); }
process.stdin.on('data', (b) => {
  fs.appendFileSync(${JSON.stringify(log)}, b);
  input += b;
  if (authed) return;
  const nl = input.indexOf('\\n');
  if (nl < 0) return;
  const line = input.slice(0, nl);
  input = input.slice(nl + 1);
  if (line === 'pw-become-2') { authed = true; process.stdout.write(marker + '\\n'); }
  else process.stderr.write('Sorry, try again.\\n' + prompt);
});
process.stdin.on('end', () => {
  if (!authed) return void setTimeout(() => process.exit(1), 5000);
  process.stdout.write('script bytes: ' + input.length + '\\n');
  process.stderr.write('from the script\\n');
  process.exit(3);
});
`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.teardown(() => { process.env.PATH = path; });
  const o = (pw: string) => open({ ansible_host: '10.0.0.7', ansible_user: 'op', ansible_become: true, ansible_become_password: pw, smbdirect_ssh_client: 'openssh' }, ctx);
  const script = 'echo one\necho two\n';

  writeFileSync(join(bin, 'mode'), 'sudo');
  const c = await OpensshConnection.open(o('pw-become-2'), { acceptNew: false });
  const r = await c.run(script);
  t.same([r.code, r.stdout, r.stderr], [3, `script bytes: ${script.length}\n`, 'from the script\n'], 'the script after the marker; sudo\'s lecture and prompt are not output');
  t.equal(readFileSync(log, 'utf8'), `pw-become-2\n${script}`, 'stdin: the password once, after the prompt, then the script');
  t.equal(c.roundTrips, 1);
  await c.close();

  writeFileSync(log, '');
  const w = await OpensshConnection.open(o('not-it'), { acceptNew: false });
  const started = Date.now();
  await t.rejects(w.run(script), { name: 'BecomeError', message: 'sudo refused the become password for op on node7: check ansible_become_password' });
  t.ok(Date.now() - started < 3000, 'at the second prompt: the session\'s ssh is stopped (its exit 255 on SIGTERM is not a lost connection)');
  t.equal(readFileSync(log, 'utf8'), 'not-it\n', 'the script was never sent');
  await w.close();

  writeFileSync(join(bin, 'mode'), 'lost');
  const l = await OpensshConnection.open(o('pw-become-2'), { acceptNew: false });
  await t.rejects(l.run(script), { name: 'UnreachableError', message: 'connection to the host was lost (OpenSSH: Connection to 10.0.0.7 closed by remote host.)' }, 'ssh\'s 255 before the marker: unreachable, with its reason');
  await l.close();
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
