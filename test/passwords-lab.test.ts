// Passwords and sudo on the real lab: labsudo (src/lab/sudo-user.ts) is a non-root user that logs
// in with the controller's key or its password, and whose sudo asks for that password. The
// password (random per lab, with a quote, a space and a dollar) is the canary: it must reach sshd
// and sudo, and nothing else: no argv or environment of any process on the machine (the
// controller's and every lab host's, all visible in this machine's /proc), no output line.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { YAML } from 'zx';
import { changedPaths, CLI, runCli, runJson, startLab, tmp, upperSnapshot } from './helpers/lab.js';
import { sampled } from './helpers/proc-watch.js';
import { LAB_SUDO_USER, sudoPasswordFile } from '../src/lab/sudo-user.js';
import { ensurePrerequisites } from '../src/prereqs.js';
import { cmd } from '../src/quote.js';

await ensurePrerequisites(['ansible'], (l) => t.comment(l));
const lab = await startLab(t, 1, 1);
const PW = readFileSync(sudoPasswordFile(lab.stateDir), 'utf8').replace(/\n$/, '');
const labInv = YAML.parse(readFileSync(lab.inventory, 'utf8'));
const address = (h: string): string => labInv.all.children[h.startsWith('srv') ? 'smb_servers' : 'smb_clients'].hosts[h].ansible_host;
const KEY = { ansible_ssh_private_key_file: join(lab.stateDir, 'id_ed25519') };
const NO_KEY = { ansible_ssh_private_key_file: '/nonexistent' };

/** An inventory of both lab hosts logging in as labsudo; `all` vars, then per-host host_vars files. */
function inventory(vars: Record<string, unknown>, hostVars: Record<string, string> = {}): string {
  const dir = tmp('sd-pw-');
  const all = { ansible_user: LAB_SUDO_USER, smbdirect_known_hosts: join(lab.stateDir, 'known_hosts'), ansible_ssh_common_args: '-F none -o IdentityAgent=none', ...vars };
  const hosts = Object.fromEntries(['srv01', 'cli01'].map((h) => [h, { ansible_host: address(h) }]));
  writeFileSync(join(dir, 'hosts.yml'), YAML.stringify({ all: { vars: all, hosts } }));
  mkdirSync(join(dir, 'host_vars'));
  for (const [h, v] of Object.entries(hostVars)) writeFileSync(join(dir, 'host_vars', `${h}.yml`), v);
  return join(dir, 'hosts.yml');
}

const exec = (inv: string, command: string, extra: string[] = [], input?: string) =>
  runCli(['exec', 'cli01', '-i', inv, ...extra, '--', command], { input, deadlineMs: 60_000 });

t.test('password login: from the inventory, Vault, --ask-pass and a file; a wrong one is refused (exit 4)', async (t) => {
  const id = 'echo "user=$(id -un) uid=$(id -u)"';
  const plain = await exec(inventory({ ...NO_KEY, ansible_password: PW }), id);
  t.equal(plain.code, 0, plain.stdout + plain.stderr);
  t.match(plain.stdout, /user=labsudo uid=(\d+)/);
  t.notMatch(plain.stdout, /uid=0\b/, 'a non-root login');

  const vaultPw = join(tmp('sd-vpw-'), 'vault.txt');
  writeFileSync(vaultPw, 'vault-pw-1\n');
  // the value on stdin (--stdin-name), so the test itself puts no canary in an argv
  const block = execFileSync('ansible-vault', ['encrypt_string', '--vault-password-file', vaultPw, '--stdin-name', 'ansible_password'], { input: PW, encoding: 'utf8' });
  const vaulted = await exec(inventory(NO_KEY, { cli01: block }), id, ['--vault-password-file', vaultPw]);
  t.equal(vaulted.code, 0, vaulted.stdout + vaulted.stderr);
  t.match(vaulted.stdout, /user=labsudo/, 'ansible_password from a !vault value');

  const asked = await exec(inventory(NO_KEY), id, ['-k'], `${PW}\n`);
  t.equal(asked.code, 0, asked.stdout + asked.stderr);
  t.match(asked.stdout, /user=labsudo/, '--ask-pass (stdin is not a terminal: one line read from it)');
  const pwFile = join(tmp('sd-cpw-'), 'pw');
  writeFileSync(pwFile, `${PW}\n`, { mode: 0o600 });
  const fromFile = await exec(inventory(NO_KEY), id, ['--connection-password-file', pwFile]);
  t.match(fromFile.stdout, /user=labsudo/, '--connection-password-file');

  const wrong = await exec(inventory({ ...NO_KEY, ansible_password: 'not-the-password' }), id);
  t.equal(wrong.code, 4, 'unreachable');
  t.match(wrong.stdout, /cli01 \| UNREACHABLE! => authentication refused by [\d.]+:22: the password for labsudo and any keys were refused; check ansible_password \(set in .*hosts\.yml \(vars of group all\)\) and ansible_user$/m);
  const run = await runJson(['run', 'sample', '-i', inventory({ ...NO_KEY, ansible_password: 'not-the-password' }), '--limit', 'cli01', '--check']);
  t.equal(run.code, 4);
  t.match(run.results[0], { host: 'cli01', task: 'Gathering Facts', status: 'unreachable', msg: /password for labsudo .* refused/ });
  t.notMatch(JSON.stringify(run.lines) + run.stderr, 'not-the-password', 'the wrong password is not printed either');
});

t.test('become with a password: root under become, not without; sudo and su; -K', async (t) => {
  const id = 'echo "uid=$(id -u) user=$(id -un) sudo_user=${SUDO_USER:-}"';
  const without = await exec(inventory(KEY), id);
  t.equal(without.code, 0, without.stderr);
  t.match(without.stdout, /uid=[1-9]\d* user=labsudo sudo_user=\n/, 'the key login, without become: labsudo');
  const become = await exec(inventory({ ...KEY, ansible_become: true, ansible_become_password: PW }), id);
  t.equal(become.code, 0, become.stdout + become.stderr);
  t.match(become.stdout, /uid=0 user=root sudo_user=labsudo\n/, 'become: root, through sudo from labsudo');
  const nopw = await exec(inventory({ ...KEY, ansible_become: true }), id);
  t.equal(nopw.code, 2, 'without the password sudo -n refuses at once (rc 1: FAILED)');
  t.match(nopw.stdout, /sudo: a password is required/);
  const asked = await exec(inventory({ ...KEY, ansible_become: 'yes' }), id, ['-K'], `${PW}\n`);
  t.match(asked.stdout, /uid=0 user=root sudo_user=labsudo/, '--ask-become-pass');
  const both = await exec(inventory({ ...NO_KEY, ansible_become: 'yes' }), id, ['-k', '-K'], `${PW}\n\n`);
  t.match(both.stdout, /uid=0 user=root sudo_user=labsudo/, '-k -K: an empty become password is the SSH password, as in Ansible');
  const flags = await exec(inventory({ ...KEY, ansible_become: true, ansible_become_password: PW, ansible_become_user: 'labuser', ansible_become_flags: '-H -n' }), 'echo "user=$(id -un) home=$HOME"');
  t.match(flags.stdout, /user=labuser home=\/home\/labuser/, 'ansible_become_user and ansible_become_flags (-n dropped: a password is given)');
  // su asks for the target user's password: log in as labuser, become labsudo
  const su = await exec(inventory({ ...KEY, ansible_user: 'labuser', ansible_become: true, ansible_become_method: 'su', ansible_become_user: LAB_SUDO_USER, ansible_become_password: PW }), id);
  t.equal(su.code, 0, su.stdout + su.stderr);
  t.match(su.stdout, /user=labsudo/, 'ansible_become_method su');

  // The engine: a play through sudo with a password, in the same round trips as without.
  const inv = inventory({ ...KEY, ansible_become: true, ansible_become_password: PW, sample_message: 'via sudo with a password' });
  const first = await runJson(['run', 'sample', '-i', inv, '--limit', 'cli01']);
  t.equal(first.code, 0, first.stderr);
  const conf = join(lab.root('cli01'), 'etc/smbdirect-sample.conf');
  t.match(readFileSync(conf, 'utf8'), /message = via sudo with a password/);
  t.equal(statSync(conf).uid, 0, 'written as root');
  const second = await runJson(['run', 'sample', '-i', inv, '--limit', 'cli01']);
  t.same([first.roundTrips.cli01, second.roundTrips.cli01, second.recap.cli01?.changed], [2, 1, 0], 'facts + apply, then facts only: as without a password');
});

t.test('the same inventory with the real ansible (-m raw): become with the password works there too', async (t) => {
  const kh = join(lab.stateDir, 'known_hosts');
  const inv = inventory({ ...KEY, ansible_become: true, ansible_become_password: PW, ansible_ssh_common_args: `-F none -o IdentityAgent=none -o UserKnownHostsFile=${kh}` });
  const env = { ...process.env, ANSIBLE_LOCAL_TEMP: tmp('sd-ans-'), ANSIBLE_NOCOLOR: '1' };
  const theirs = execFileSync('ansible', ['cli01', '-i', inv, '-m', 'raw', '-a', 'id -u'], { env, encoding: 'utf8' });
  t.match(theirs, /cli01 \| CHANGED \| rc=0 >>\s+0\r?\n/, 'ansible: uid 0 (its raw output comes through a pty: \\r\\n)');
  const ours = await exec(inv, 'id -u');
  t.match(ours.stdout, /cli01 \| CHANGED \| rc=0 >>\n0\n/, 'smbdirect exec: uid 0');
});

t.test('a wrong become password: a clear failure of that host (exit 2), nothing changed, no hang', async (t) => {
  const wrongOnCli = { cli01: 'ansible_become_password: not-the-password\n' };
  const inv = inventory({ ...KEY, ansible_become: true, ansible_become_password: PW }, wrongOnCli);
  const e = await exec(inv, 'id -u');
  t.equal(e.code, 2);
  t.match(e.stdout, /^cli01 \| FAILED! => sudo refused the become password for labsudo on cli01: check ansible_become_password \(set in .*host_vars\/cli01\.yml\)$/m);
  const before = upperSnapshot(lab, 'cli01', { mtime: false });
  const started = Date.now();
  const r = await runJson(['run', 'sample', '-i', inv, '-e', 'sample_message=must-not-appear']);
  const took = (Date.now() - started) / 1000;
  t.equal(r.code, 2, 'a failed host');
  t.match(r.results.find((x) => x.host === 'cli01'), { task: 'Gathering Facts', status: 'failed', msg: /^sudo refused the become password for labsudo on cli01: check ansible_become_password/ });
  t.equal(r.recap.srv01?.failed, 0, 'the other host goes on');
  t.ok((r.recap.srv01?.changed ?? 0) > 0, 'srv01 changed with its right password');
  t.ok(took < 20, `refused at once, not a hang (${took.toFixed(1)} s)`);
  // sudo itself may note the attempt under /var/lib/sudo; nothing else on the host differs
  t.same(changedPaths(before, upperSnapshot(lab, 'cli01', { mtime: false })).filter((p) => !p.startsWith('var/lib/sudo')), [], 'nothing changed on cli01');
  t.notMatch(readFileSync(join(lab.root('cli01'), 'etc/smbdirect-sample.conf'), 'utf8'), /must-not-appear/);
});

t.test('the password is in no argv or environment on controller or host, and in no output', async (t) => {
  // the whole password, and its random part alone: a leak through shell quoting splits the
  // password at its quote, but never inside `sd-RANDOM` (makeSudoUser)
  const canaries = [PW, PW.split(' ')[0]!].map((c) => Buffer.from(c, 'utf8').toString('latin1'));
  t.ok(canaries[1]!.length >= 15, 'a random part long enough to be unique');
  const leaks = (samples: string[]) => samples.some((s) => canaries.some((c) => s.includes(c)));
  const inv = inventory({ ...NO_KEY, ansible_become: true, ansible_become_password: PW, sample_message: 'held' });
  // Held: the command runs as root for 3 s while sudo and sshd are alive on the host.
  const held = await sampled(() => exec(inv, 'sleep 3; id -u', ['-k', '-vvv'], `${PW}\n`));
  t.equal(held.result.code, 0, held.result.stdout + held.result.stderr);
  t.match(held.result.stdout, /^0$/m, 'ran as root');
  t.ok(held.samples.some((s) => s.includes('sleep 3')), `the sampler saw the held command (${held.rounds} rounds)`);
  t.ok(held.samples.some((s) => s.includes('[sudo via smbdirect, key=')), 'and sudo\'s own argv (prompt, no password)');
  t.notOk(leaks(held.samples), 'the password in no argv or environment');
  t.notOk(leaks([held.result.stdout + held.result.stderr]), 'nor in exec\'s output');

  const pwFile = join(tmp('sd-cpw-'), 'pw');
  writeFileSync(pwFile, `${PW}\n`, { mode: 0o600 });
  const run = await sampled(() => runJson(['run', 'sample', '-i', inv, '--connection-password-file', pwFile, '--limit', 'cli01', '-e', 'sample_message=held2']));
  t.equal(run.result.code, 0, run.result.stderr);
  t.notOk(leaks(run.samples), 'a whole run: in no argv or environment');
  t.notOk(leaks([JSON.stringify(run.result.lines) + run.result.stderr]), 'nor in --json output or stderr');
  const text = await runCli(['run', 'sample', '-i', inv, '-k', '--limit', 'cli01', '-e', 'sample_message=held3', '--diff', '-vvv'], { input: `${PW}\n` });
  t.equal(text.code, 0);
  t.notOk(leaks([text.stdout + text.stderr]), 'nor at -vvv with --diff');
  const host = await runCli(['inventory', '-i', inv, '--host', 'cli01']);
  t.notOk(leaks([host.stdout]), 'inventory --host masks it');
  t.match(JSON.parse(host.stdout), { ansible_become_password: '********', smbdirect_connection: { become_password_from: /^ansible_become_password/ } });
  t.notOk(leaks([(await runCli(['inventory', '-i', inv, '--list'])).stdout]), 'inventory --list masks it');
});

t.test('-k -K on a terminal: asked once each, nothing echoed, the become prompt defaults to the SSH password', async (t) => {
  const inv = inventory({ ...NO_KEY, ansible_become: true });
  const out = join(tmp('sd-tty-'), 'out');
  const line = cmd(process.execPath, CLI, 'exec', 'all', '-i', inv, '-k', '-K', '--', 'id -u');
  const r = await new Promise<{ code: number; screen: string }>((resolve) => {
    const p = spawn('script', ['-qec', `${line} >${cmd(out)}`, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' } });
    let screen = '';
    const typed = new Set<string>();
    // typed once each prompt shows, as a person would
    const answer = (prompt: string, text: string) => {
      if (!typed.has(prompt) && screen.includes(prompt)) typed.add(prompt), p.stdin.write(text);
    };
    p.stdout.on('data', (d) => {
      screen += d;
      answer('SSH password: ', `${PW}\r`);
      answer('BECOME password[defaults to SSH password]: ', '\r');
    });
    p.on('close', (code) => resolve({ code: code ?? 1, screen }));
  });
  t.equal(r.code, 0, r.screen);
  t.equal(r.screen.split('SSH password: ').length - 1, 1, 'the SSH password asked once for two hosts');
  t.match(r.screen, /BECOME password\[defaults to SSH password\]: /);
  t.notOk(r.screen.includes(PW.split(' ')[0]!), 'nothing typed is echoed');
  const text = readFileSync(out, 'utf8');
  t.match(text, /srv01 \| CHANGED \| rc=0 >>\n0\n/);
  t.match(text, /cli01 \| CHANGED \| rc=0 >>\n0\n/);
});
