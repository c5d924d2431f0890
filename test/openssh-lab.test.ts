// The OpenSSH transport (smbdirect_ssh_client: openssh) on the namespace lab's real sshd hosts:
// exec and a run work, one master (one TCP connection, one login) per host for the whole run,
// the control directory and the masters are gone afterwards, a wrong or unknown host key is
// refused (exit 4), and the round trips are those of ssh2. Every `ssh` the CLI starts goes
// through a wrapper on PATH that logs its argv, so the test sees what the transport ran.
import t from 'tap';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { labAccess, runCli, runJson, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 1, 1);
const { addr, hosts, login: LOGIN } = labAccess(lab);

function inventory(vars: Record<string, unknown>): string {
  const file = join(tmp('sd-ossh-inv-'), 'hosts.yml');
  writeFileSync(file, JSON.stringify({ all: { vars, hosts: Object.fromEntries(hosts.map((h) => [h, { ansible_host: addr[h] }])) } }));
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
  const dir = tmp('sd-ossh-task-');
  const task = join(dir, 'conn.mjs');
  // each apply appends the client side of its TCP connection ($SSH_CONNECTION): the same port means the same connection
  writeFileSync(task, `export default { name: 'test: conn', plan: () => ({ status: 'change', changes: [{ kind: 'command', desc: 'conn', cmd: 'echo "$SSH_CONNECTION" >> /root/sd-conn' }] }) };\n`);
  const pb = join(dir, 'pb.yml');
  writeFileSync(pb, JSON.stringify([{ name: 'one', hosts: 'all', tasks: [task] }, { name: 'two', hosts: 'all', tasks: [task] }]));
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
