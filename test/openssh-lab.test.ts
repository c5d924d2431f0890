// The OpenSSH transport (smbdirect_ssh_client: openssh) on the namespace lab's real sshd hosts:
// exec and a run work, one master (one TCP connection, one login) per host for the whole run,
// the control directory and the masters are gone afterwards, a wrong or unknown host key is
// refused (exit 4), and the round trips are those of ssh2. Become with a password (labsudo,
// src/lab/sudo-user.ts): the conversation on the session's pipes, sudo and su, a wrong password a
// FAILED host at once, the password in no argv or environment anywhere. Every `ssh` the CLI
// starts goes through a wrapper on PATH that logs its argv, so the test sees what the transport ran.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { LAB_SUDO_USER, sudoPasswordFile } from '../src/lab/sudo-user.js';
import { labAccess, runCli, runJson, startLab, tmp } from './helpers/lab.js';
import { watchProcs } from './helpers/proc-watch.js';

const lab = await startLab(t, 1, 1);
const { addr, hosts, login: LOGIN } = labAccess(lab);

function inventory(vars: Record<string, unknown>, hostVars: Record<string, Record<string, unknown>> = {}): string {
  const file = join(tmp('sd-ossh-inv-'), 'hosts.yml');
  writeFileSync(file, JSON.stringify({ all: { vars, hosts: Object.fromEntries(hosts.map((h) => [h, { ansible_host: addr[h], ...hostVars[h] }])) } }));
  return file;
}

/** A PATH whose `ssh` logs its argv (one line per call) and runs the real one; TMPDIR of the run. */
function traced(): { env: NodeJS.ProcessEnv; calls: () => string[]; tmpdir: string } {
  const bin = tmp('sd-ossh-bin-');
  const log = join(bin, 'calls.log');
  writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec /usr/bin/ssh "$@"\n`);
  chmodSync(join(bin, 'ssh'), 0o755);
  const dir = tmp('sd-ossh-tmp-');
  return { env: { PATH: `${bin}:${process.env.PATH}`, TMPDIR: dir }, tmpdir: dir, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

/** Our processes whose argv names the directory (the masters live there): none may outlive a run. */
function processesUsing(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false;
    }
  }).map(Number);
}

const OPENSSH = { ...LOGIN, smbdirect_ssh_client: 'openssh' };

/** A playbook of two plays on all hosts, each one task that always changes by running `cmd`. */
function twoPlays(name: string, cmd: string): string {
  const dir = tmp('sd-ossh-task-');
  const task = join(dir, `${name}.mjs`);
  writeFileSync(task, `export default { name: 'test: ${name}', plan: () => ({ status: 'change', changes: [{ kind: 'command', desc: '${name}', cmd: ${JSON.stringify(cmd)} }] }) };\n`);
  const pb = join(dir, 'pb.yml');
  writeFileSync(pb, JSON.stringify([{ name: 'one', hosts: 'all', tasks: [task] }, { name: 'two', hosts: 'all', tasks: [task] }]));
  return pb;
}

t.test('exec through OpenSSH: one master per host, stopped, its directory removed', async (t) => {
  const tr = traced();
  const r = await runCli(['exec', 'all', '-i', inventory(OPENSSH), '--', 'id -un'], { env: tr.env });
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const h of hosts) t.match(r.stdout, `${h} | CHANGED | rc=0 >>\nroot\n`);
  const calls = tr.calls();
  for (const h of hosts) {
    const mine = calls.filter((c) => c.includes(`HostName=${addr[h]} `));
    t.equal(mine.filter((c) => c.startsWith('-M -N -f')).length, 1, `${h}: one master`);
    t.equal(mine.filter((c) => c.startsWith('-T -o ControlMaster=no')).length, 1, `${h}: one session through it`);
    t.equal(mine.filter((c) => c.startsWith('-O exit')).length, 1, `${h}: stopped with -O exit`);
  }
  t.same(readdirSync(tr.tmpdir), [], 'the control directory is gone');
  t.same(processesUsing(tr.tmpdir), [], 'no master outlives the run');
  t.notMatch(calls.join('\n'), /BEGIN|PRIVATE/, 'no key material in any argv');
});

t.test('a run through OpenSSH: the round trips of ssh2, over one TCP connection per host', async (t) => {
  // each apply appends the client side of its TCP connection ($SSH_CONNECTION): the same port means the same connection
  const pb = twoPlays('conn', 'echo "$SSH_CONNECTION" >> /root/sd-conn');
  const tr = traced();
  const started = Date.now();
  const viaOpenssh = await runJson(['run', pb, '-i', inventory(OPENSSH)], tr.env);
  const opensshMs = Date.now() - started;
  t.equal(viaOpenssh.code, 0, viaOpenssh.stderr);
  const t2 = Date.now();
  const viaSsh2 = await runJson(['run', pb, '-i', inventory(LOGIN)]);
  const ssh2Ms = Date.now() - t2;
  t.equal(viaSsh2.code, 0, viaSsh2.stderr);
  t.same(viaOpenssh.roundTrips, viaSsh2.roundTrips, `the same round trips as ssh2 (${JSON.stringify(viaOpenssh.roundTrips)})`);
  t.comment(`two plays, ${hosts.length} hosts: OpenSSH ${opensshMs} ms, ssh2 ${ssh2Ms} ms`);
  for (const h of hosts) {
    const lines = readFileSync(join(lab.root(h), 'root/sd-conn'), 'utf8').trim().split('\n');
    t.equal(lines.length, 4, `${h}: two applies per run, two runs`);
    t.equal(lines[0], lines[1], `${h}: both plays of the OpenSSH run came over one TCP connection (${lines[0]})`);
    t.equal(tr.calls().filter((c) => c.startsWith('-M ') && c.includes(`HostName=${addr[h]} `)).length, 1, `${h}: one master for the whole run`);
  }
  t.same(readdirSync(tr.tmpdir), [], 'the control directory is gone');
  t.same(processesUsing(tr.tmpdir), []);
  const sample = await runJson(['run', 'sample', '-i', lab.inventory, '-e', 'smbdirect_ssh_client=openssh'], tr.env);
  t.equal(sample.code, 0, sample.stderr);
  const again = await runJson(['run', 'sample', '-i', lab.inventory, '-e', 'smbdirect_ssh_client=openssh'], tr.env);
  for (const h of hosts) t.same([sample.roundTrips[h], again.roundTrips[h], again.recap[h]?.changed], [2, 1, 0], `${h}: sample: facts + apply, then facts only (as bench-roundtrips has for ssh2)`);
  t.equal(tr.calls().filter((c) => c.startsWith('-M ')).length, 3 * hosts.length, '-e smbdirect_ssh_client=openssh: the sample runs went through OpenSSH too (a master per host and run)');
});

t.test('host keys: a changed or unknown key is refused, exit 4', async (t) => {
  const dir = tmp('sd-ossh-kh-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
  const other = readFileSync(join(dir, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  const wrong = join(dir, 'wrong_known_hosts');
  writeFileSync(wrong, hosts.map((h) => `${addr[h]} ${other}\n`).join(''));
  const tr = traced();
  const changed = await runCli(['exec', 'srv01', '-i', inventory({ ...OPENSSH, smbdirect_known_hosts: wrong }), '--', 'touch /root/sd-should-not'], { env: tr.env });
  t.equal(changed.code, 4, changed.stdout);
  t.match(changed.stdout, /srv01 \| UNREACHABLE! => OpenSSH refused the host key of [\d.]+:22 \(srv01\) \(StrictHostKeyChecking yes\): it CHANGED \(presented SHA256:\S+; \S*wrong_known_hosts records another\)/);
  t.notOk(existsSync(join(lab.root('srv01'), 'root/sd-should-not')), 'nothing ran on the host');
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  const unknown = await runCli(['exec', 'srv01', '-i', inventory({ ...OPENSSH, smbdirect_known_hosts: empty }), '--', 'true'], { env: tr.env });
  t.equal(unknown.code, 4, unknown.stdout);
  t.match(unknown.stdout, /OpenSSH refused the host key of .*: it is unknown \(not in \S*empty\): verify it and re-run with --accept-new-host-keys/);
  t.equal(readFileSync(empty, 'utf8'), '', 'nothing recorded');
  t.same(readdirSync(tr.tmpdir), [], 'no control directory left by a failed login');
});

t.test('inventory --host names the client and why; a password is refused, not passed', async (t) => {
  const shown = await runCli(['inventory', '-i', inventory(OPENSSH), '--host', 'srv01']);
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, /"ssh_client": "openssh"/);
  t.match(shown.stdout, /"ssh_client_why": "smbdirect_ssh_client openssh/);
  const auto = await runCli(['inventory', '-i', inventory(LOGIN), '--host', 'srv01']);
  t.match(auto.stdout, /"ssh_client": "ssh2"/);
  const tr = traced();
  const pw = await runCli(['exec', 'srv01', '-i', inventory({ ...OPENSSH, ansible_password: 'sekret-pw-1' }), '--', 'true'], { env: tr.env });
  t.equal(pw.code, 4, pw.stdout);
  t.match(pw.stdout, /uses the OpenSSH client .* never gives a login password \(ansible_password/);
  t.notMatch(tr.calls().join('\n'), /sekret-pw-1/, 'the password is in no ssh argv');
  t.same(tr.calls(), [], 'ssh was not even started');
});

t.test('a ControlPath of yours: auto picks OpenSSH; a master of yours there is used and left running', async (t) => {
  const { key, known } = labAccess(lab);
  const cm = tmp('sd-ossh-cm-'); // yours: 0700 (mkdtemp)
  const inv = inventory({ ...LOGIN, ansible_ssh_common_args: `-o ControlPath=${cm}/%C` });
  const shown = await runCli(['inventory', '-i', inv, '--host', 'srv01']);
  t.match(JSON.parse(shown.stdout).smbdirect_connection, { ssh_client: 'openssh', ssh_client_why: /^auto: ControlPath .*%C is set \(ansible_ssh_common_args/ });
  const tr = traced();
  const ours = await runCli(['exec', 'srv01', '-i', inv, '--', 'id -un'], { env: tr.env });
  t.equal(ours.code, 0, ours.stdout);
  t.same(tr.calls().map((c) => c.split(' ').slice(0, 2).join(' ')), ['-O check', '-M -N', '-T -o', '-O exit'], 'no master there: one is started there for the run, then stopped');
  t.same(readdirSync(cm), [], 'and its socket is gone');
  // your own master, as `ssh -M` from a terminal would leave it (started here, stopped below by -O exit)
  const mine = ['-o', `ControlPath=${cm}/%C`, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${known}`, '-i', key, `root@${addr.srv01}`];
  execFileSync('ssh', ['-M', '-N', '-f', '-o', 'ControlPersist=120', ...mine]);
  t.teardown(() => { execFileSync('ssh', ['-O', 'exit', ...mine], { stdio: 'ignore' }); });
  const tr2 = traced();
  const reused = await runCli(['exec', 'srv01', '-i', inv, '--', 'id -un'], { env: tr2.env });
  t.equal(reused.code, 0, reused.stdout);
  t.same(tr2.calls().map((c) => c.split(' ').slice(0, 2).join(' ')), ['-O check', '-T -o'], 'your master carried the session; none started, none stopped');
  t.equal(spawnSync('ssh', ['-O', 'check', ...mine], { stdio: 'ignore' }).status, 0, 'your master still runs');
});

t.test('become with a password over OpenSSH: on the session\'s pipes, sudo and su, a wrong one fails that host at once, never in an argv or environment', async (t) => {
  const PW = readFileSync(sudoPasswordFile(lab.stateDir), 'utf8').replace(/\n$/, '');
  // the whole password, and its random part alone: a leak through shell quoting splits it at its
  // quote or blank, never inside `sd-RANDOM` (makeSudoUser)
  const canaries = [PW, PW.split(' ')[0]!];
  t.ok(canaries[1]!.length >= 15, 'a random part long enough to be unique');
  const leaked = (text: string) => canaries.filter((c) => text.includes(c));
  // The watcher: this machine's /proc (the controller's processes, and the hosts' too) and each
  // host's own /proc as mounted in its namespace, read through its first process (sshd).
  const firstChild = async (h: string) => {
    const pid = await lab.pid(h);
    return Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  };
  const inside = Object.fromEntries(await Promise.all(hosts.map(async (h) => [h, await firstChild(h)] as const)));
  const procs = { controller: '/proc', ...Object.fromEntries(hosts.map((h) => [h, `/proc/${inside[h]}/root/proc`])) };
  const MARKER = `marker-${randomBytes(9).toString('base64url')}`;
  const SEEN = ['[sudo via smbdirect', 'BECOME-SUCCESS-', `sshd: ${LAB_SUDO_USER}`];
  const watch = watchProcs(procs, [...canaries, MARKER, ...SEEN]);
  t.teardown(() => watch.stop());

  // negative control: a marker in a process's environment (not its argv) on each host is found there
  const planted: ChildProcess[] = hosts.map((h) => spawn('nsenter', ['-t', String(inside[h]), '-a', 'sleep', '30'], { stdio: 'ignore', env: { ...process.env, SD_MARKER: MARKER } }));
  try {
    const places = () => new Set(watch.found.filter((f) => f.needle === MARKER).map((f) => f.proc));
    const started = Date.now();
    while (Date.now() - started < 10_000 && places().size < hosts.length + 1) await new Promise((r) => setTimeout(r, 100));
    t.same([...places()].sort(), ['controller', ...hosts].sort(), 'the watcher finds a planted environment on each host\'s /proc and on the controller\'s');
  } finally {
    for (const p of planted) p.kill('SIGKILL');
  }

  const { key, known } = labAccess(lab);
  const BECOME = { ansible_user: LAB_SUDO_USER, ansible_ssh_private_key_file: key, smbdirect_known_hosts: known, smbdirect_ssh_client: 'openssh', ansible_become: true };
  const pwFile = join(tmp('sd-ossh-bpw-'), 'pw');
  writeFileSync(pwFile, `${PW}\n`, { mode: 0o600 });
  const id = 'echo "uid=$(id -u) user=$(id -un) sudo_user=${SUDO_USER:-}"';

  // held: the command runs as root for 2 s while sudo, sshd and the ssh master are alive
  const tr = traced();
  const right = await runCli(['exec', 'all', '-i', inventory(BECOME), '--become-password-file', pwFile, '--', `sleep 2; ${id}`], { env: tr.env, deadlineMs: 60_000 });
  t.equal(right.code, 0, right.stdout + right.stderr);
  for (const h of hosts) t.match(right.stdout, `${h} | CHANGED | rc=0 >>\nuid=0 user=root sudo_user=${LAB_SUDO_USER}\n`, `${h}: root, through sudo from ${LAB_SUDO_USER}`);
  for (const h of hosts) {
    const mine = tr.calls().filter((c) => c.includes(`HostName=${addr[h]} `));
    t.same(mine.map((c) => c.split(' ').slice(0, 2).join(' ')), ['-M -N', '-T -o', '-O exit'], `${h}: through OpenSSH, one session (one round trip)`);
    t.match(mine[1], /sudo -S -p '\[sudo via smbdirect, key=[0-9a-f]+\] password:' -H -u root sh -c 'echo BECOME-SUCCESS-/, `${h}: sudo -S with our prompt`);
  }
  t.same(leaked(tr.calls().join('\n') + right.stdout + right.stderr), [], 'the password in no ssh argv, no output');

  // the wrong password on cli01 (a variable beats the file): cli01 FAILED, srv01 goes on; no hang
  const wrongOnCli = inventory(BECOME, { cli01: { ansible_become_password: 'not-the-password' } });
  const trw = traced();
  const started = Date.now();
  const wrong = await runCli(['exec', 'all', '-i', wrongOnCli, '--become-password-file', pwFile, '--', `touch /root/sd-ossh-wrong; ${id}`], { env: trw.env, deadlineMs: 60_000 });
  const took = (Date.now() - started) / 1000;
  t.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
  t.match(wrong.stdout, /^cli01 \| FAILED! => sudo refused the become password for labsudo on cli01: check ansible_become_password \(set in .*hosts\.yml/m, 'the message of ssh2');
  t.match(wrong.stdout, `srv01 | CHANGED | rc=0 >>\nuid=0 user=root sudo_user=${LAB_SUDO_USER}\n`, 'the other host runs');
  t.ok(took < 20, `refused at once, not a hang (${took.toFixed(1)} s)`);
  const s2 = Date.now();
  const overSsh2 = await runCli(['exec', 'cli01', '-i', inventory({ ...BECOME, smbdirect_ssh_client: 'ssh2' }, { cli01: { ansible_become_password: 'not-the-password' } }), '--', 'true'], { deadlineMs: 60_000 });
  t.match(overSsh2.stdout, /^cli01 \| FAILED! => sudo refused the become password for labsudo on cli01: check ansible_become_password/m, 'the same message over ssh2');
  t.comment(`a wrong become password: OpenSSH (both hosts) ${took.toFixed(1)} s, ssh2 (cli01) ${((Date.now() - s2) / 1000).toFixed(1)} s`);
  t.notOk(existsSync(join(lab.root('cli01'), 'root/sd-ossh-wrong')), 'nothing of the script ran on cli01');
  t.ok(existsSync(join(lab.root('srv01'), 'root/sd-ossh-wrong')), 'and it did on srv01');
  t.same(readdirSync(trw.tmpdir), [], 'the control directory is gone after a refusal too');
  t.same(processesUsing(trw.tmpdir), [], 'and no master outlives it');
  t.same(leaked(wrong.stdout + wrong.stderr), []);

  // a run: every run() holds its own conversation, in the round trips of ssh2 with the same become
  const pb = twoPlays('who', 'id -u >> /root/sd-ossh-become');
  const tr2 = traced();
  const viaOpenssh = await runJson(['run', pb, '-i', inventory(BECOME), '--become-password-file', pwFile], tr2.env, 120_000);
  t.equal(viaOpenssh.code, 0, JSON.stringify(viaOpenssh.results) + viaOpenssh.stderr);
  const viaSsh2 = await runJson(['run', pb, '-i', inventory({ ...BECOME, smbdirect_ssh_client: 'ssh2' }), '--become-password-file', pwFile], undefined, 120_000);
  t.equal(viaSsh2.code, 0, viaSsh2.stderr);
  t.same(viaOpenssh.roundTrips, viaSsh2.roundTrips, `the round trips of ssh2 (${JSON.stringify(viaOpenssh.roundTrips)})`);
  for (const h of hosts) {
    const sessions = tr2.calls().filter((c) => c.startsWith('-T ') && c.includes(`HostName=${addr[h]} `));
    t.equal(sessions.length, viaOpenssh.roundTrips[h], `${h}: one ssh session per round trip`);
    t.ok(sessions.every((c) => c.includes('sudo -S -p')), `${h}: each one through sudo -S (a conversation per run())`);
    const file = join(lab.root(h), 'root/sd-ossh-become');
    t.same(readFileSync(file, 'utf8'), '0\n0\n0\n0\n', `${h}: two applies per run, two runs, each as uid 0`);
    t.equal(statSync(file).uid, 0, `${h}: written as root`);
  }
  t.same(leaked(JSON.stringify(viaOpenssh.lines) + viaOpenssh.stderr + tr2.calls().join('\n')), []);

  // su asks for the target user's password: log in as labuser, become labsudo
  const su = await runCli(['exec', 'all', '-i', inventory({ ...BECOME, ansible_user: 'labuser', ansible_become_method: 'su', ansible_become_user: LAB_SUDO_USER }), '--become-password-file', pwFile, '--', id], { deadlineMs: 60_000 });
  t.equal(su.code, 0, su.stdout + su.stderr);
  for (const h of hosts) t.match(su.stdout, new RegExp(`${h} \\| CHANGED \\| rc=0 >>\\nuid=[1-9]\\d* user=${LAB_SUDO_USER} `), `${h}: ansible_become_method su`);
  const suWrong = await runCli(['exec', 'cli01', '-i', inventory({ ...BECOME, ansible_user: 'labuser', ansible_become_method: 'su', ansible_become_user: LAB_SUDO_USER, ansible_become_password: 'not-the-password' }), '--', id], { deadlineMs: 60_000 });
  t.equal(suWrong.code, 2, suWrong.stdout + suWrong.stderr);
  t.match(suWrong.stdout, /^cli01 \| FAILED! => su refused the become password for labsudo on cli01: check ansible_become_password/m);

  await watch.stop();
  t.ok(watch.rounds > 20, `the watcher ran ${watch.rounds} rounds`);
  for (const h of hosts) {
    t.ok(watch.found.some((f) => f.proc === h && f.needle === '[sudo via smbdirect'), `${h}: the watcher saw our sudo in the host's own /proc`);
    t.ok(watch.found.some((f) => f.proc === h && f.needle === `sshd: ${LAB_SUDO_USER}`), `${h}: and labsudo's sshd`);
  }
  t.same(watch.found.filter((f) => canaries.includes(f.needle)), [], 'the password in no argv or environment, on the controller or any host');
});
