// The engine against real sshd hosts (the lab): check mode, apply, idempotence, handlers,
// failure isolation, unreachable hosts, become, host keys. Host files are read from the
// hosts' root filesystems directly, not through our own SSH code.
import t from 'tap';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson, startLab, tmp, type JsonRun } from './helpers/lab.js';

const lab = await startLab(t, 1, 2);
const inv = lab.inventory;
const hosts = ['srv01', 'cli01', 'cli02'];
const conf = (h: string) => join(lab.root(h), 'etc/smbdirect-sample.conf');

t.test('check mode reports changes and changes nothing', async (t) => {
  const r = await runJson(['run', 'sample', '-i', inv, '--check']);
  t.equal(r.code, 0);
  for (const h of hosts) {
    t.equal(r.recap[h]!.changed, 3, `${h}: three tasks would change`);
    t.notOk(existsSync(conf(h)), `${h}: no file written`);
    t.notOk(existsSync(join(lab.root(h), 'var/lib/smbdirect-sample')), `${h}: no command ran`);
  }
});

t.test('first run changes, second run changes nothing; the handler ran once', async (t) => {
  const first = await runJson(['run', 'sample', '-i', inv]);
  t.equal(first.code, 0);
  for (const h of hosts) {
    t.equal(first.recap[h]!.changed, 4, `${h}: 3 tasks + handler`);
    t.match(readFileSync(conf(h), 'utf8'), new RegExp(`host = ${h}\n`));
    t.equal(statSync(conf(h)).mode & 0o777, 0o644);
    t.match(readFileSync(join(lab.root(h), 'etc/environment'), 'utf8'), /^SMBDIRECT_SAMPLE=1$/m);
    t.equal(first.roundTrips[h], 2, `${h}: facts + apply`);
  }
  const second = await runJson(['run', 'sample', '-i', inv]);
  t.equal(second.code, 0);
  for (const h of hosts) {
    t.equal(second.recap[h]!.changed, 0, `${h}: zero changes`);
    t.equal(second.roundTrips[h], 1, `${h}: facts only`);
    t.equal(readFileSync(join(lab.root(h), 'var/lib/smbdirect-sample/reloads'), 'utf8').trim().split('\n').length, 1, `${h}: handler ran once`);
  }
});

t.test('a play reuses the facts of an earlier play that changed nothing on the host', async (t) => {
  const pb = new URL('./fixtures/playbooks/two-plays.yml', import.meta.url).pathname;
  const r = await runJson(['run', pb, '-i', inv, '-e', 'sample_env_value=2']);
  t.equal(r.code, 0);
  // first play: facts + apply; second: fresh facts (the host changed); third: reuses them + its probe
  for (const h of hosts) t.equal(r.roundTrips[h], 4, `${h}: 2 + 1 + 1 round trips on a changing run`);
  const again = await runJson(['run', pb, '-i', inv, '-e', 'sample_env_value=2']);
  for (const h of hosts) {
    t.equal(again.recap[h]!.changed, 0);
    t.equal(again.roundTrips[h], 2, `${h}: 1 + 0 (reused) + 1 (only the missing probe)`);
  }
  const restore = await runJson(['run', pb, '-i', inv]);
  t.equal(restore.code, 0);
});

t.test('a changed var shows a diff, changes one file and notifies the handler again', async (t) => {
  const r = await runCli(['run', 'sample', '-i', inv, '--diff', '-e', '{"sample_message": "hi there"}', '--limit', 'cli01']);
  t.equal(r.code, 0);
  t.match(r.stdout, /-message = hello from smbdirect\n\+message = hi there/);
  t.match(r.stdout, /cli01\s+: ok=5\s+changed=2/);
  t.notMatch(r.stdout, /srv01/, '--limit keeps other hosts out');
  t.equal(readFileSync(join(lab.root('cli01'), 'var/lib/smbdirect-sample/reloads'), 'utf8').trim().split('\n').length, 2);
});

t.test('--json carries diffs only with --diff, as Ansible does (none is made without it)', async (t) => {
  const args = ['run', 'sample', '-i', inv, '--check', '-e', '{"sample_message": "json diff"}', '--limit', 'cli01'];
  const diffsOf = (r: JsonRun) => r.lines.flatMap((l) => (typeof (l as { diff?: unknown }).diff === 'string' ? [(l as { diff: string }).diff] : []));
  const plain = await runJson(args);
  t.ok(plain.results.some((x) => x.status === 'changed'), 'a change is planned');
  t.same(diffsOf(plain), [], 'no diff without --diff');
  const asked = await runJson([...args, '--diff']);
  t.match(diffsOf(asked).join(''), /\+message = json diff/, 'with --diff, the diff');
});

t.test('tags select tasks', async (t) => {
  const r = await runJson(['run', 'sample', '-i', inv, '--tags', 'line', '--check']);
  t.same([...new Set(r.results.map((x) => x.task))], ['Gathering Facts', 'sample: line in /etc/environment']);
  const s = await runJson(['run', 'sample', '-i', inv, '--skip-tags', 'line,command', '--check']);
  t.same([...new Set(s.results.map((x) => x.task))], ['Gathering Facts', 'sample: render /etc/smbdirect-sample.conf']);
});

/** An inventory dir: the lab's hosts.yml plus host_vars of our choosing. */
function inventoryWith(hostVars: Record<string, string>): string {
  const dir = tmp('sd-inv-');
  copyFileSync(inv, join(dir, 'hosts.yml'));
  mkdirSync(join(dir, 'host_vars'));
  for (const [h, v] of Object.entries(hostVars)) writeFileSync(join(dir, 'host_vars', `${h}.yml`), v);
  return join(dir, 'hosts.yml');
}

t.test('a task failing on one host fails only that host (exit 2)', async (t) => {
  const r = await runJson(['run', 'sample', '-i', inventoryWith({ cli02: 'sample_fail: true\n' })]);
  t.equal(r.code, 2);
  t.equal(r.recap.cli02!.failed, 1);
  t.equal(r.recap.srv01!.failed, 0);
  t.equal(r.recap.cli01!.failed, 0);
  const failed = r.results.find((x) => x.status === 'failed')!;
  t.match(failed, { host: 'cli02', task: 'sample: guarded command' });
  t.match(failed.msg, /exit 3: sample_fail is set on this host/);
});

t.test('become: a non-root login, sudo to root or another user, and sudo that wants a password', async (t) => {
  // The lab's inventory logs in as root, which cannot tell sudo from a root login: log in as users
  // of our own on cli01 instead. sdsudo may sudo without a password, sdpass only with one (it has
  // none: sudo -n must refuse at once), sdother is only a target.
  const setup = await runCli(['exec', 'cli01', '-i', inv, '--', [
    'set -e',
    'for u in sdsudo sdpass sdother; do id -u $u >/dev/null 2>&1 || useradd -m -s /bin/sh $u; usermod -p "*" $u; done',
    'for u in sdsudo sdpass; do install -d -m 700 -o $u -g $u /home/$u/.ssh; install -m 600 -o $u -g $u /root/.ssh/authorized_keys /home/$u/.ssh/; done',
    "echo 'sdsudo ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/sdsudo",
    "echo 'sdpass ALL=(ALL) ALL' > /etc/sudoers.d/sdpass",
    'chmod 440 /etc/sudoers.d/sdsudo /etc/sudoers.d/sdpass',
  ].join('\n')]);
  t.equal(setup.code, 0, setup.stdout);
  const uidOf = (u: string) => Number(readFileSync(join(lab.root('cli01'), 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${u}:`))!.split(':')[2]);
  const who = async (vars: string) => {
    const r = await runCli(['exec', 'cli01', '-i', inventoryWith({ cli01: vars }), '--', 'echo "user=$(id -un) uid=$(id -u) sudo_user=${SUDO_USER:-}"']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    return /user=\S+ uid=\d+ sudo_user=\S*/.exec(r.stdout)?.[0];
  };
  const sampleState = ['etc/smbdirect-sample.conf', 'var/lib/smbdirect-sample'].map((f) => join(lab.root('cli01'), f));
  for (const f of sampleState) rmSync(f, { recursive: true, force: true });

  t.equal(await who('ansible_user: sdsudo\n'), `user=sdsudo uid=${uidOf('sdsudo')} sudo_user=`, 'ansible_user is the login user (no become)');
  const plain = await runJson(['run', 'sample', '-i', inventoryWith({ cli01: 'ansible_user: sdsudo\n' }), '--limit', 'cli01']);
  t.equal(plain.code, 2, 'without become the login user cannot write /etc');
  t.match(plain.results.find((x) => x.status === 'failed'), { host: 'cli01', task: 'sample: render /etc/smbdirect-sample.conf', msg: /Permission denied/ });
  t.notOk(existsSync(conf('cli01')), 'nothing written without become');

  const become = 'ansible_user: sdsudo\nansible_become: true\n';
  t.equal(await who(become), 'user=root uid=0 sudo_user=sdsudo', 'with become: root, through sudo from sdsudo');
  const r = await runJson(['run', 'sample', '-i', inventoryWith({ cli01: `${become}sample_message: via sudo\n` }), '--limit', 'cli01']);
  t.equal(r.code, 0);
  t.match(readFileSync(conf('cli01'), 'utf8'), /message = via sudo/);
  // The file, and what the commands and the handler created (no owner given: the creator's), are root's.
  for (const f of [conf('cli01'), ...['', '/marker', '/reloads'].map((x) => `${sampleState[1]}${x}`)]) t.equal(statSync(f).uid, 0, `${f} is root's`);

  t.equal(await who(`${become}ansible_become_user: sdother\n`), `user=sdother uid=${uidOf('sdother')} sudo_user=sdsudo`, 'ansible_become_user: that user, through sudo');

  // --task-timeout: a sudo that waited for a password would end as UNREACHABLE here, not stall the test.
  const started = Date.now();
  const pw = await runJson(['run', 'sample', '-i', inventoryWith({ cli01: 'ansible_user: sdpass\nansible_become: true\n' }), '--limit', 'srv01:cli01', '--check', '--task-timeout', '30']);
  const took = (Date.now() - started) / 1000;
  t.equal(pw.code, 2, 'a failed host, not unreachable');
  t.match(pw.results.find((x) => x.host === 'cli01'), { task: 'Gathering Facts', status: 'failed', msg: /sudo: a password is required/ });
  t.equal((pw.recap.srv01?.failed ?? -1) + (pw.recap.srv01?.unreachable ?? -1), 0, 'the other host goes on');
  t.ok(took < 20, `sudo wanting a password fails at once, not a hang (${took.toFixed(1)} s)`);
});

t.test('host keys: unknown refused with a hint, accepted with the flag, changed always refused', async (t) => {
  const kh = join(tmp('sd-kh-'), 'known_hosts');
  writeFileSync(kh, '');
  const i = inventoryWith({ srv01: `smbdirect_known_hosts: ${kh}\n` });
  const unknown = await runJson(['run', 'sample', '-i', i, '--limit', 'srv01', '--check']);
  t.equal(unknown.code, 4);
  t.match(unknown.results[0]!.msg, /host key for 10\.\d+\.\d+\.\d+ is unknown \(SHA256:.*\); verify it and re-run with --accept-new-host-keys/);
  const accepted = await runJson(['run', 'sample', '-i', i, '--limit', 'srv01', '--check', '--accept-new-host-keys']);
  t.equal(accepted.code, 0);
  t.match(readFileSync(kh, 'utf8'), /ssh-ed25519 /);
  const other = readFileSync(join(lab.stateDir, 'known_hosts'), 'utf8').split('\n').find((l) => l.startsWith('cli01 '))!.split(' ').slice(1).join(' ');
  writeFileSync(kh, readFileSync(kh, 'utf8').replace(/ssh-ed25519 \S+/, other));
  const changed = await runJson(['run', 'sample', '-i', i, '--limit', 'srv01', '--check', '--accept-new-host-keys']);
  t.equal(changed.code, 4);
  t.match(changed.results[0]!.msg, /REMOTE HOST IDENTIFICATION HAS CHANGED.*intercepting/);
});

t.test('exec runs an ad-hoc command per host with its exit code', async (t) => {
  const ok = await runCli(['exec', 'smb_clients', '-i', inv, '--', 'hostname']);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /cli01 \| CHANGED \| rc=0 >>\ncli01\n/);
  t.notMatch(ok.stdout, /srv01/);
  const bad = await runCli(['exec', 'srv01', '-i', inv, '--', 'exit 5']);
  t.equal(bad.code, 2);
  t.match(bad.stdout, /srv01 \| FAILED \| rc=5/);
  const none = await runCli(['exec', 'nosuch', '-i', inv, '--', 'true']);
  t.equal(none.code, 1);
  t.match(none.stderr, /no hosts matched "nosuch"/);
});

t.test('facts: one round trip per host, a table with the kernel release', async (t) => {
  const r = await runCli(['facts', '-i', inv, '--limit', 'cli02']);
  t.equal(r.code, 0);
  t.match(r.stdout, /== cli02 ==\n/);
  t.match(r.stdout, /kernel\.release\s+\S+/);
  t.match(r.stdout, /distro\.id\s+debian/);
});

t.test('inventory --list prints Ansible-shaped JSON', async (t) => {
  const r = await runCli(['inventory', '-i', inv, '--list']);
  const j = JSON.parse(r.stdout);
  t.same(j.smb_servers.hosts, ['srv01']);
  t.equal(j._meta.hostvars.cli01.ansible_host.startsWith('10.'), true);
});

t.test('a host whose sshd is gone is UNREACHABLE, the others finish (exit 4)', async (t) => {
  process.kill(await lab.pid('srv01'), 'SIGKILL');
  const r = await runCli(['run', 'sample', '-i', inv, '-T', '3']);
  t.equal(r.code, 4);
  t.match(r.stdout, /fatal: \[srv01\]: UNREACHABLE! => (connection refused|timed out|no route)/);
  t.match(r.stdout, /cli01\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
  t.match(r.stdout, /srv01\s+: ok=0\s+changed=0\s+unreachable=1/);
});
