// The engine against real sshd hosts (the lab): check mode, apply, idempotence, handlers,
// failure isolation, unreachable hosts, become, host keys. Host files are read from the
// hosts' root filesystems directly, not through our own SSH code.
import t from 'tap';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson, startLab, tmp } from './helpers/lab.js';

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

t.test('become: a non-root user with sudo writes root-owned files', async (t) => {
  const r = await runJson(['run', 'sample', '-i', inventoryWith({ cli01: 'ansible_user: labuser\nansible_become: true\nsample_message: via sudo\n' }), '--limit', 'cli01']);
  t.equal(r.code, 0);
  t.match(readFileSync(conf('cli01'), 'utf8'), /message = via sudo/);
  t.equal(statSync(conf('cli01')).uid, 0);
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
