// Passwords and become, without the lab: which password a host gets (Ansible 2.14's rules, read
// from its source: see src/connection/passwords.ts), the remote command, the prompts on the
// controller, and the SSH side against an in-process ssh2 server on 127.0.0.1 that records what
// the client sends (methods in order, every byte of stdin).
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import ssh2 from 'ssh2';
import { becomeCommand, BecomeError } from '../src/connection/become.js';
import { connectOptions } from '../src/connection/options.js';
import { becomeSettings, connectionPassword, registerPasswordVars } from '../src/connection/passwords.js';
import { SshConnection } from '../src/connection/ssh.js';
import { passwordFromFile } from '../src/commands/passwords.js';
import { readPassword } from '../src/prompt.js';
import { redact } from '../src/secrets.js';

const CANARY = "canary-Pw 'q\"$x";

t.test('login password: the last of ansible_password, ansible_ssh_pass, ansible_ssh_password; any variable beats the CLI', async (t) => {
  t.same(connectionPassword({ ansible_password: 'a' }), { value: 'a', from: 'ansible_password' });
  t.equal(connectionPassword({ ansible_password: 'a', ansible_ssh_pass: 'b' })?.value, 'b', 'ansible_ssh_pass is later in the plugin\'s list');
  t.equal(connectionPassword({ ansible_ssh_password: 'c', ansible_password: 'a', ansible_ssh_pass: 'b' })?.value, 'c');
  t.equal(connectionPassword({ ansible_password: 'a' }, { conn: 'typed' })?.value, 'a', 'inventory (or vault) beats --ask-pass, as in Ansible');
  t.same(connectionPassword({}, { conn: 'typed' }), { value: 'typed', from: '--ask-pass / --connection-password-file' });
  t.equal(connectionPassword({}), undefined);
  t.equal(connectionPassword({ ansible_password: '' }, { conn: 'typed' }), undefined, 'an empty variable still beats the CLI, and empty means none');
  t.equal(connectionPassword({ ansible_password: 'a' }, {}, { ansible_password: '/inv/host_vars/h.yml' })?.from, 'ansible_password (set in /inv/host_vars/h.yml)');
});

t.test('become: method, user, flags and password as the sudo become plugin reads them', async (t) => {
  t.same(becomeSettings({}), { method: 'sudo', user: 'root' });
  t.equal(becomeSettings({ ansible_become_password: 'a', ansible_become_pass: 'b' }).password?.value, 'b');
  t.equal(becomeSettings({ ansible_become_password: 'a', ansible_become_pass: 'b', ansible_sudo_pass: 'c' }).password?.value, 'c');
  t.equal(becomeSettings({ ansible_become_password: 'a' }, { become: 'typed' }).password?.value, 'a', 'a variable beats -K');
  t.equal(becomeSettings({}, { become: 'typed', conn: 'ssh' }).password?.value, 'typed');
  t.same(becomeSettings({ ansible_become_flags: "-H -E --preserve-env='A B'", ansible_become_user: 'svc' }), { method: 'sudo', user: 'svc', flags: ['-H', '-E', '--preserve-env=A B'] });
  t.equal(becomeSettings({ ansible_become_method: 'su' }).method, 'su');
  t.throws(() => becomeSettings({ ansible_become_method: 'doas' }), /ansible_become_method "doas" is not supported: use sudo or su/);
});

t.test('connectOptions: the CLI passwords reach the host, the inventory\'s win; jump hosts get none', async (t) => {
  const ctx = { home: '/nonexistent', localUser: 'me', uid: 1000, localHostname: 'ctl', env: {} };
  const host = (vars: Record<string, unknown>) => ({ name: 'h', groups: ['all'], vars: { ansible_ssh_common_args: '-F none', ...vars } });
  const o = connectOptions(host({ ansible_become: true }), { timeoutMs: 1000, passwords: { conn: 'c1', become: 'b1' } }, ctx);
  t.equal(o.password?.value, 'c1');
  t.equal(o.becomePassword?.value, 'b1');
  const v = connectOptions(host({ ansible_become: 'yes', ansible_become_pass: 'b2', ansible_ssh_pass: 'c2', ansible_ssh_common_args: '-F none -J bastion' }), { timeoutMs: 1000, passwords: { conn: 'c1', become: 'b1' } }, ctx);
  t.same([v.password?.value, v.becomePassword?.value], ['c2', 'b2']);
  t.equal(v.route.jumps[0]!.password, undefined, 'the bastion is not sent the host\'s password');
  t.equal(connectOptions(host({ ansible_become_pass: 'b2' }), { timeoutMs: 1000 }, ctx).becomePassword, undefined, 'no become: no become password');
});

t.test('the remote command: never the password; sudo -n unchanged without one', async (t) => {
  const base = { host: 'h', user: 'ops', become: true, becomeUser: 'root' };
  t.same(becomeCommand(base), { command: "sudo -n -H -u root sh -s" }, 'as before this change');
  t.same(becomeCommand({ ...base, becomeFlags: ['-E'] }), { command: "sudo -n -E -u root sh -s" });
  t.same(becomeCommand({ ...base, become: false, becomePassword: { value: CANARY, from: 'x' } }), { command: 'sh -s' });
  t.same(becomeCommand({ ...base, user: 'root', becomePassword: { value: CANARY, from: 'x' } }), { command: 'sh -s' });
  const c = becomeCommand({ ...base, becomeFlags: ['-H', '-S', '-n', '-E'], becomePassword: { value: CANARY, from: 'x' } });
  t.notOk(c.command.includes('canary'), 'the password is not in the command');
  t.match(c.command, /^sudo -S -p '\[sudo via smbdirect, key=[0-9a-f]{32}\] password:' -H -E -u root sh -c 'echo BECOME-SUCCESS-[0-9a-f]{32}; exec sh -s'$/, '-n and a second -S dropped');
  t.not(becomeCommand({ ...base, becomePassword: { value: 'x', from: 'x' } }).auth!.prompt, c.auth!.prompt, 'a new prompt per connection');
  const su = becomeCommand({ ...base, becomeMethod: 'su', becomeUser: 'svc', becomePassword: { value: CANARY, from: 'x' } });
  t.match(su.command, /^su svc -c 'echo BECOME-SUCCESS-[0-9a-f]{32}; exec sh -s'$/);
  t.throws(() => becomeCommand({ ...base, becomeMethod: 'su' }), BecomeError);
});

t.test('prompts: one line each from a pipe, even when they arrive together', async (t) => {
  const input = new PassThrough() as unknown as NodeJS.ReadStream;
  const output = new PassThrough() as unknown as NodeJS.WriteStream;
  (input as unknown as PassThrough).write('ssh pw\r\nbecome pw\nvault pw\n');
  t.equal(await readPassword('SSH password: ', 'x', input, output), 'ssh pw');
  t.equal(await readPassword('BECOME password: ', 'x', input, output), 'become pw');
  t.equal(await readPassword('Vault password: ', 'x', input, output), 'vault pw');
  (input as unknown as PassThrough).end();
  await t.rejects(readPassword('more: ', 'become password', input, output), /no become password on stdin/);
});

t.test('password files: content or an executable\'s output, blanks removed, empty refused', async (t) => {
  const d = t.testdir({ pw: `  ${CANARY}\n`, empty: '\n', 'script.sh': '#!/bin/sh\necho from-script\n' });
  chmodSync(`${d}/script.sh`, 0o755);
  t.equal(await passwordFromFile(`${d}/pw`, '--become-password-file'), CANARY);
  t.equal(await passwordFromFile(`${d}/script.sh`, '--become-password-file'), 'from-script');
  await t.rejects(passwordFromFile(`${d}/empty`, '--become-password-file'), /--become-password-file .*empty: the password is empty/);
  await t.rejects(passwordFromFile(`${d}/none`, '--connection-password-file'), /ENOENT/);
});

t.test('inventory passwords are secrets: masked in every line printed', async (t) => {
  registerPasswordVars({ ansible_password: 'inv-secret-1', ansible_become_pass: 'inv-secret-2', other: 'visible' });
  t.equal(redact('a inv-secret-1 b inv-secret-2 visible'), 'a ******** b ******** visible');
});

/** An SSH server on 127.0.0.1 (ssh2) that records what it is sent; `sudo` plays a sudo that asks or not. */
async function server(t: Test, o: { methods: ssh2.AuthenticationType[]; acceptKey: boolean; password: string; sudo: 'asks' | 'nopasswd' }) {
  const d = t.testdir({});
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${d}/host`]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${d}/client`]);
  const clientBlob = Buffer.from(readFileSync(`${d}/client.pub`, 'utf8').split(' ')[1]!, 'base64');
  const seen = { methods: [] as string[], passwordsTried: [] as string[], stdin: '' };
  const srv = new ssh2.Server({ hostKeys: [readFileSync(`${d}/host`)] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'none') seen.methods.push(ctx.method);
      if (ctx.method === 'publickey' && o.acceptKey && ctx.key.data.equals(clientBlob)) return ctx.accept();
      if (ctx.method === 'password') {
        seen.passwordsTried.push(ctx.password);
        if (ctx.password === o.password) return ctx.accept();
      }
      if (ctx.method === 'keyboard-interactive') {
        return ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
          if (answers[0]) seen.passwordsTried.push(answers[0]);
          return answers[0] === o.password ? ctx.accept() : ctx.reject(o.methods);
        });
      }
      ctx.reject(o.methods);
    });
    client.on('ready', () => client.on('session', (accept) => accept().on('exec', (acc, _rej, info) => {
      const ch = acc();
      const marker = /BECOME-SUCCESS-[0-9a-f]+/.exec(info.command)?.[0];
      const prompt = /'(\[sudo via [^']*)'/.exec(info.command)?.[1];
      let authed = o.sudo === 'nopasswd';
      let tries = 0;
      const start = () => ch.write(`${marker}\n`);
      ch.on('data', (b: Buffer) => {
        seen.stdin += b.toString();
        if (authed) return;
        const nl = seen.stdin.indexOf('\n');
        if (nl < 0) return;
        const line = seen.stdin.slice(0, nl);
        seen.stdin = seen.stdin.slice(nl + 1);
        if (line === o.password) return void ((authed = true), start());
        if (++tries >= 3) return void (ch.stderr.write('sudo: 3 incorrect password attempts\n'), ch.exit(1), ch.close());
        ch.stderr.write(`Sorry, try again.\n${prompt}`);
      });
      ch.on('end', () => {
        ch.write(`script bytes: ${seen.stdin.length}\n`);
        ch.exit(0);
        ch.close();
      });
      if (o.sudo === 'nopasswd') start();
      else ch.stderr.write(prompt!);
    })));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  writeFileSync(`${d}/known_hosts`, '');
  const port = (srv.address() as AddressInfo).port;
  const spec = (vars: Record<string, unknown>) => ({
    name: 'h', groups: ['all'],
    vars: { ansible_host: '127.0.0.1', ansible_port: port, ansible_user: 'ops', ansible_ssh_common_args: '-F none -o IdentityAgent=none', smbdirect_known_hosts: `${d}/known_hosts`, ...vars },
  });
  const open = (vars: Record<string, unknown>) =>
    SshConnection.open(connectOptions(spec(vars), { timeoutMs: 5000 }, { home: d, localUser: 'me', uid: 0, localHostname: 'ctl', env: {} }), { acceptNew: true });
  return { seen, open, key: `${d}/client` };
}

t.test('SSH login: the key first; then keyboard-interactive and password answered with the password', async (t) => {
  const both = await server(t, { methods: ['publickey', 'keyboard-interactive', 'password'], acceptKey: true, password: CANARY, sudo: 'nopasswd' });
  await (await both.open({ ansible_ssh_private_key_file: both.key, ansible_password: CANARY })).close();
  t.same(both.seen.methods, ['publickey', 'publickey'], 'the key is offered, then signed: no password method tried');
  t.same(both.seen.passwordsTried, [], 'the password never reached a server that took the key');

  const kbd = await server(t, { methods: ['publickey', 'keyboard-interactive', 'password'], acceptKey: false, password: CANARY, sudo: 'nopasswd' });
  await (await kbd.open({ ansible_ssh_private_key_file: kbd.key, ansible_password: CANARY })).close();
  t.same(kbd.seen.methods, ['publickey', 'keyboard-interactive'], 'OpenSSH\'s order: keyboard-interactive before password');

  const pw = await server(t, { methods: ['password'], acceptKey: false, password: CANARY, sudo: 'nopasswd' });
  await (await pw.open({ ansible_ssh_private_key_file: '/nonexistent', ansible_ssh_pass: CANARY })).close();
  t.same(pw.seen.methods, ['password'], 'methods the server does not offer are skipped');

  const wrong = await server(t, { methods: ['keyboard-interactive', 'password'], acceptKey: false, password: CANARY, sudo: 'nopasswd' });
  const err = await wrong.open({ ansible_ssh_private_key_file: '/nonexistent', ansible_password: 'not-it' }).then(() => undefined, (e: Error) => e);
  t.equal(err?.name, 'UnreachableError');
  t.match(err?.message, /^authentication refused by 127\.0\.0\.1:\d+: the password for ops and any keys were refused; check ansible_password and ansible_user$/);
  t.same(wrong.seen.passwordsTried, ['not-it', 'not-it'], 'answered once by keyboard-interactive, once by password');
});

t.test('become over the channel: the password only after sudo\'s prompt, the script only after the marker', async (t) => {
  const script = 'echo one\necho two\n';
  const asks = await server(t, { methods: ['publickey'], acceptKey: true, password: CANARY, sudo: 'asks' });
  const c = await asks.open({ ansible_ssh_private_key_file: asks.key, ansible_become: true, ansible_become_password: CANARY });
  const r = await c.run(script);
  t.same([r.code, r.stdout, r.stderr], [0, `script bytes: ${script.length}\n`, ''], 'sudo\'s prompt and the marker are not output');
  t.equal(c.roundTrips, 1);
  await c.close();

  const nopw = await server(t, { methods: ['publickey'], acceptKey: true, password: CANARY, sudo: 'nopasswd' });
  const n = await nopw.open({ ansible_ssh_private_key_file: nopw.key, ansible_become: true, ansible_become_password: CANARY });
  await n.run(script);
  t.equal(nopw.seen.stdin, script, 'a sudo that asks nothing never receives the password: stdin is the script alone');
  await n.close();

  const wrong = await server(t, { methods: ['publickey'], acceptKey: true, password: CANARY, sudo: 'asks' });
  const w = await wrong.open({ ansible_ssh_private_key_file: wrong.key, ansible_become: true, ansible_become_pass: 'not-it' });
  await t.rejects(w.run(script), { name: 'BecomeError', message: 'sudo refused the become password for ops on h: check ansible_become_pass' });
  t.notMatch(wrong.seen.stdin, /echo one/, 'the script was never sent');
  await w.close();
});
