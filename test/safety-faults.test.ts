// Safety, faults on the lab (1 server, 2 clients, policy warn): a host down before the run, a
// network cut, a full filesystem under /etc/ksmbd, a read-only /etc. Each with the exit code
// expected, each host's ksmbd.conf and fstab old or new (never partial), and a converging run
// (exit 0, then zero changes) once the fault heals.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runJson, startLab, tmp, type JsonRun } from './helpers/lab.js';
import { smbInventory } from './fixtures/safety/smb-inventory.js';
import { startHost, waitForSsh } from '../src/lab/hosts.js';
import type { LabState } from '../src/lab/state.js';
import { readdirSync } from 'node:fs';
import { loadInventory } from '../src/inventory/index.js';
import { loadPlaybook } from '../src/playbook.js';
import { runPlaybook } from '../src/engine/runner.js';
import type { HostStats, Reporter } from '../src/engine/output.js';

const lab = await startLab(t, 1, 2);
const { inv, setShares, setMounts } = smbInventory(lab, 'sd-safety-faults-', 'fault-pw');
const state = (): LabState => JSON.parse(readFileSync(join(lab.stateDir, 'state.json'), 'utf8'));
const hostState = (h: string) => state().hosts.find((x) => x.name === h)!;
/**
 * Seconds after which a fault run counts as hung. Not a speed target: on a loaded 2-core machine
 * SSH keepalive detection alone takes 15-20 s (5 s x 3) and the rest of a run is slower than on
 * an idle one, so tight limits failed runs that were fine. A hang (no keepalive, no task timeout)
 * never ends; this bound only tells it apart. What the tests wait for, they wait on as conditions.
 */
const HANG_S = 240;

/** PID 1 of the host's namespaces (sshd): its /proc/PID/root is the host's view, mounts included. */
function sshdPid(unsharePid: number): number {
  return Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/)[0]);
}
/** A file as the host sees it; 'absent' only when the host has no such file. Any other failure (the
 * host's root unreadable, the host gone, a directory, EACCES) throws: two failed reads must not
 * compare equal as "old file intact". */
const hostFile = async (h: string, f: string): Promise<string> => {
  const view = `/proc/${sshdPid(await lab.pid(h))}/root`;
  if (!statSync(view).isDirectory()) throw new Error(`${h}: ${view} is not the host's root directory`);
  try {
    return readFileSync(join(view, f), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
};
const inHost = async (h: string, script: string) => {
  const p = sshdPid(await lab.pid(h));
  execFileSync('nsenter', ['-t', String(p), '-m', 'sh', '-ec', script, 'x', join(lab.stateDir, 'hosts', h, 'root')]);
};
async function converge(t: Test, pb: string): Promise<void> {
  const r = await runJson(['run', pb, '-i', inv]);
  t.equal(r.code, 0, `${pb} converges once the fault is healed\n${r.stderr}${JSON.stringify(r.results.filter((x) => x.status === 'failed' || x.status === 'unreachable'))}`);
  const again = await runJson(['run', pb, '-i', inv]);
  t.equal(again.code, 0);
  for (const [h, s] of Object.entries(again.recap)) t.equal(s.changed, 0, `${pb} on ${h}: zero changes after healing`);
}

t.test('baseline: server and client converge', async (t) => {
  await converge(t, 'server');
  await converge(t, 'client');
});

t.test('a host down before the run: exit 4, the others fine; after restart it converges', async (t) => {
  const victim = 'cli02';
  const before = await hostFile('cli01', 'etc/fstab');
  execFileSync('kill', ['-KILL', String(sshdPid(await lab.pid(victim)))]); // sshd is PID 1: its namespace goes with it
  setMounts(['/mnt/data', '/mnt/second']);
  const started = Date.now();
  const r = await runJson(['run', 'client', '-i', inv]);
  t.equal(r.code, 4, 'exit 4: a host was unreachable');
  t.ok(Date.now() - started < HANG_S * 1000, `ended (no hang: under ${HANG_S} s)`);
  t.equal(r.recap[victim]?.unreachable, 1, `${victim} unreachable`);
  t.equal(r.recap.cli01?.failed, 0, 'cli01 did not fail');
  t.equal(r.recap.cli01?.unreachable, 0, 'cli01 reachable');
  t.not(await hostFile('cli01', 'etc/fstab'), before, 'cli01 got its new fstab');
  t.match(await hostFile('cli01', 'etc/fstab'), /\/mnt\/second cifs/);
  await restartHost(victim); // heal
  await converge(t, 'client');
});

t.test('network cut (veth down) with --task-timeout 5: exit 4 in bounded time, files old or new', async (t) => {
  const h = hostState('cli01');
  const old = await hostFile('cli01', 'etc/fstab');
  setMounts(['/mnt/data', '/mnt/second', '/mnt/third']);
  execFileSync('ip', ['link', 'set', h.veth, 'down']);
  const started = Date.now();
  let r: JsonRun;
  try {
    r = await runJson(['run', 'client', '-i', inv, '--task-timeout', '5']);
  } finally {
    execFileSync('ip', ['link', 'set', h.veth, 'up']);
  }
  const secs = (Date.now() - started) / 1000;
  t.comment(`network cut: run ended after ${secs.toFixed(1)} s`);
  t.equal(r.code, 4, 'exit 4');
  t.ok(secs < HANG_S, `ended (no hang: under ${HANG_S} s)`);
  t.equal(r.recap.cli01?.unreachable, 1, 'cli01 unreachable');
  t.equal(r.recap.cli02?.failed, 0, 'cli02 fine');
  t.equal(await hostFile('cli01', 'etc/fstab'), old, 'cli01 fstab old (the run never reached it)');
  await converge(t, 'client');
});

t.test('full filesystem under /etc/ksmbd: the host fails, ksmbd.conf stays whole; healed, it converges', async (t) => {
  const old = await hostFile('srv01', 'etc/ksmbd/ksmbd.conf');
  t.match(old, /\[data\]/);
  await inHost('srv01', 'mkdir -p /tmp/ks && cp -a "$1/etc/ksmbd/." /tmp/ks/ && mount -t tmpfs -o size=16k tmpfs "$1/etc/ksmbd" && cp -a /tmp/ks/. "$1/etc/ksmbd/" && (dd if=/dev/zero of="$1/etc/ksmbd/.filler" bs=1k count=64 2>/dev/null || true)');
  setShares(['data', 'more', ...Array.from({ length: 40 }, (_, i) => `share${i}`)]);
  const r = await runJson(['run', 'server', '-i', inv]);
  t.equal(r.code, 2, 'exit 2: the host failed');
  t.ok(r.results.some((x) => x.host === 'srv01' && x.status === 'failed' && /ksmbd\.conf/.test(x.task)), 'the ksmbd.conf task failed');
  t.equal(await hostFile('srv01', 'etc/ksmbd/ksmbd.conf'), old, 'old ksmbd.conf intact');
  await inHost('srv01', 'umount "$1/etc/ksmbd"');
  await converge(t, 'server');
  t.match(await hostFile('srv01', 'etc/ksmbd/ksmbd.conf'), /\[share39\]/);
});

t.test('read-only /etc: the client fails with fstab intact; healed, it converges', async (t) => {
  const old = await hostFile('cli02', 'etc/fstab');
  await inHost('cli02', 'mount --bind "$1/etc" "$1/etc" && mount -o remount,bind,ro "$1/etc"');
  setMounts(['/mnt/data', '/mnt/fourth']);
  const r = await runJson(['run', 'client', '-i', inv]);
  t.equal(r.code, 2, 'exit 2');
  t.equal(r.recap.cli02?.failed, 1, 'cli02 failed');
  t.equal(r.recap.cli01?.failed, 0, 'cli01 fine');
  t.equal(await hostFile('cli02', 'etc/fstab'), old, 'old fstab intact');
  await inHost('cli02', 'umount "$1/etc"');
  await converge(t, 'client');
});

const CRED_DIR = 'etc/smbdirect-provision/credentials';

/**
 * A deterministic moment in the apply phase: a stale credentials file makes the credentials task
 * run `rm -f -- FILE` after writing the new credentials; an `rm` wrapper first on the apply
 * script's PATH (/usr/local/bin) marks that moment in the host's /tmp and sleeps `sleepS`.
 * `reached()` waits for the mark (false after 90 s); `unplant()` removes the wrapper and the mark.
 */
function pauseAtStaleRemoval(h: string, sleepS: number): { reached: () => Promise<boolean>; unplant: () => void } {
  const root = join(lab.stateDir, 'hosts', h, 'root');
  writeFileSync(join(root, CRED_DIR, 'srv01@stale'), 'username=stale\npassword=x\n', { mode: 0o600 });
  writeFileSync(join(root, 'usr/local/bin/rm'), `#!/bin/sh\ncase "$*" in *srv01@stale*) : > /tmp/safety-in-rm; sleep ${sleepS};; esac\nexec /bin/rm "$@"\n`, { mode: 0o755 });
  return {
    reached: async () => {
      const deadline = Date.now() + HANG_S * 1000;
      while (!(await hostFile(h, 'tmp/safety-in-rm').then((x) => x !== 'absent')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return Date.now() < deadline;
    },
    unplant: () => execFileSync('/bin/rm', ['-f', join(root, 'usr/local/bin/rm'), join(root, 'tmp/safety-in-rm')]),
  };
}

/** Restarts a killed host the way the lab starts it and records its new PID for labDown. */
async function restartHost(name: string): Promise<void> {
  const h = hostState(name);
  execFileSync('ip', ['-n', h.netns, 'addr', 'flush', 'dev', 'eth0']);
  const { pid, startTime } = await startHost(h, 16);
  const s = state();
  Object.assign(s.hosts.find((x) => x.name === name)!, { pid, startTime });
  writeFileSync(join(lab.stateDir, 'state.json'), JSON.stringify(s, null, 2));
  await waitForSsh(h.address, 30_000, async () => true);
}

t.test('sshd killed in the middle of the apply phase: exit 4, every file old or new; restarted, it converges', async (t) => {
  // The host is killed at the stale-credentials removal (pauseAtStaleRemoval): the RDMA unit and
  // credentials are already written, mount points and fstab are not.
  const h = 'cli01';
  const root = join(lab.stateDir, 'hosts', h, 'root');
  const credDir = CRED_DIR;
  const pause = pauseAtStaleRemoval(h, 60);
  const oldFstab = await hostFile(h, 'etc/fstab');
  const oldCred = await hostFile(h, `${credDir}/srv01@alice`);
  setMounts(['/mnt/data', '/mnt/fifth']);
  const run = runJson(['run', 'client', '-i', inv]);
  t.ok(await pause.reached(), 'the apply phase reached the stale-credentials removal');
  execFileSync('kill', ['-KILL', String(sshdPid(await lab.pid(h)))]);
  const r = await run;
  t.equal(r.code, 4, 'exit 4');
  t.equal(r.recap[h]?.unreachable, 1, `${h} unreachable`);
  t.equal(r.recap.cli02?.failed, 0, 'cli02 fine');
  t.equal(r.recap.cli02?.unreachable, 0, 'cli02 reachable');
  t.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), oldFstab, 'fstab: old (its task never ran)');
  t.equal(readFileSync(join(root, credDir, 'srv01@alice'), 'utf8'), oldCred, 'credentials: whole');
  t.ok(readFileSync(join(root, credDir, 'srv01@stale'), 'utf8').startsWith('username=stale'), 'the stale file: old (rm never ran)');
  pause.unplant();
  await restartHost(h);
  await converge(t, 'client');
  t.match(readFileSync(join(root, 'etc/fstab'), 'utf8'), /\/mnt\/fifth cifs/);
  t.notOk(readFileSync(join(root, 'etc/fstab'), 'utf8').includes('/mnt/second'), 'no stale line');
  t.same(readdirSync(join(root, credDir)), ['srv01@alice'], 'stale credentials removed once healed');
});

for (const [how, args, msg, mount] of [
  ['--task-timeout 8', ['--task-timeout', '8'], /no answer from the host within 8s \(task timeout\)/, '/mnt/sixth'],
  ['no task timeout (SSH keepalives)', [], /connection to the host was lost/, '/mnt/seventh'],
] as const) {
t.test(`network cut in the middle of the apply phase, ${how}: exit 4 in bounded time; the host finishes or restores each task; healed, it converges`, async (t) => {
  // Same deterministic moment as above (pauseAtStaleRemoval), then the
  // host's link goes down: the controller hears nothing, gives up after the task timeout, and
  // closes a channel the host cannot see. The script on the host was parsed whole and ignores
  // SIGPIPE, so it goes on: each task done or restored, never half-written.
  const h = 'cli02';
  const root = join(lab.stateDir, 'hosts', h, 'root');
  const view = `/proc/${sshdPid(await lab.pid(h))}/root`; // the host's own view (its /tmp included)
  const credDir = CRED_DIR;
  const veth = hostState(h).veth;
  const pause = pauseAtStaleRemoval(h, 15);
  const oldFstab = await hostFile(h, 'etc/fstab');
  setMounts(['/mnt/data', mount]);
  const started = Date.now();
  const run = runJson(['run', 'client', '-i', inv, ...args]);
  t.ok(await pause.reached(), 'the apply phase reached the stale-credentials removal');
  execFileSync('ip', ['link', 'set', veth, 'down']);
  let r: JsonRun;
  try {
    r = await run;
  } finally {
    execFileSync('ip', ['link', 'set', veth, 'up']);
  }
  const secs = (Date.now() - started) / 1000;
  t.comment(`network cut mid-apply: run ended after ${secs.toFixed(1)} s`);
  t.equal(r.code, 4, 'exit 4');
  t.ok(secs < HANG_S, `ended (no hang: under ${HANG_S} s)`);
  t.equal(r.recap[h]?.unreachable, 1, `${h} unreachable`);
  t.match(r.results.find((x) => x.host === h && x.status === 'unreachable')?.msg, msg);
  t.equal(r.recap.cli01?.failed, 0, 'cli01 fine');
  t.equal(r.recap.cli01?.unreachable, 0, 'cli01 reachable');
  // The host's script goes on by itself once the wrapper wakes: wait for its temp dir to go.
  const txGone = () => !readdirSync(join(view, 'tmp')).some((n) => n.startsWith('.smbdirect-tx.'));
  const until = Date.now() + HANG_S * 1000;
  while (!(txGone() && !existsSync(join(root, credDir, 'srv01@stale'))) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  t.ok(Date.now() < until, 'the script on the host ran to its end without the controller');
  const fstab = readFileSync(join(root, 'etc/fstab'), 'utf8');
  t.not(fstab, oldFstab, 'fstab: not the old one (the host finished the client tasks by itself)');
  t.match(fstab, new RegExp(`${mount} cifs [^\\n]*\\n$`), 'fstab: the new line, whole');
  pause.unplant();
  await converge(t, 'client');
  t.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), fstab, 'fstab: what the host wrote alone was already the complete new file');
});
}

t.test('the mount fails after fstab changed: exit 2, fstab restored; healed, it converges', async (t) => {
  // The lab kernel lacks cifs, so the kernel gate skips mounting. Make this one host look capable
  // (a /boot/config with the options built in, no-op modprobe and rdma) and give it a
  // mount.cifs that fails like a real one (exit 32): the cifs fstab-and-mount task must fail and
  // put the old fstab back. Healing = removing the disguise: policy warn stages fstab again.
  const h = 'cli02';
  const root = join(lab.stateDir, 'hosts', h, 'root');
  const release = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  const planted = [`boot/config-${release}`, 'usr/local/sbin/modprobe', 'usr/local/sbin/rdma', 'usr/sbin/mount.cifs'];
  const realMountCifs = readFileSync(join(root, 'usr/sbin/mount.cifs'));
  writeFileSync(join(root, planted[0]!), ['INFINIBAND', 'INFINIBAND_ADDR_TRANS', 'CIFS', 'CIFS_SMB_DIRECT', 'RDMA_SIW', 'RDMA_RXE', 'INFINIBAND_USER_ACCESS'].map((s) => `CONFIG_${s}=y\n`).join(''));
  writeFileSync(join(root, planted[1]!), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(root, planted[2]!), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(root, planted[3]!), '#!/bin/sh\necho "mount error(13): Permission denied (safety test)" >&2\nexit 32\n', { mode: 0o755 });
  const oldFstab = await hostFile(h, 'etc/fstab');
  setMounts(['/mnt/data', '/mnt/sixth']);
  const r = await runJson(['run', 'client', '-i', inv, '--limit', h]);
  t.equal(r.code, 2, 'exit 2');
  const failed = r.results.find((x) => x.status === 'failed');
  t.match(failed?.task, /cifs fstab and mount/);
  t.match(failed?.msg, /exit 32: .*Permission denied.*files of this task restored/s);
  t.equal(await hostFile(h, 'etc/fstab'), oldFstab, 'fstab restored to the old one');
  for (const f of planted.slice(0, 3)) execFileSync('/bin/rm', ['-f', join(root, f)]);
  writeFileSync(join(root, planted[3]!), realMountCifs);
  chmodSync(join(root, planted[3]!), 0o4755);
  await converge(t, 'client');
  t.match(await hostFile(h, 'etc/fstab'), /\/mnt\/sixth cifs/);
});

t.test(`load: ${Number(process.env.SAFETY_LOAD_HOSTS ?? 50)} hosts, forks = hosts, 5 in-process runs: no errors, no fd or RSS growth`, async (t) => {
  const n = Number(process.env.SAFETY_LOAD_HOSTS ?? 50);
  const servers = Math.max(1, Math.round(n / 10));
  let started = Date.now();
  const big = await startLab(t, servers, n - servers);
  t.comment(`load lab: ${n} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const d = tmp('sd-safety-load-');
  writeFileSync(join(d, 'hosts.yml'), readFileSync(big.inventory));
  mkdirSync(join(d, 'group_vars'));
  writeFileSync(join(d, 'alice.pw'), 'load-pw\n', { mode: 0o600 });
  writeFileSync(join(d, 'group_vars', 'all.yml'), `smbdirect_kernel_policy: warn\nsmbdirect_fragment_dir: ${d}/kconfig\nksmbd_users:\n  - { name: alice, password_file: alice.pw }\n`);
  writeFileSync(join(d, 'group_vars', 'smb_servers.yml'), 'ksmbd_shares:\n  - { name: data, path: /srv/smb/data }\n');
  writeFileSync(join(d, 'group_vars', 'smb_clients.yml'), 'smb_mounts:\n  - { server: srv01, share: data, path: /mnt/data, user: alice }\n');
  const inv = await loadInventory(join(d, 'hosts.yml'), { onWarning: () => undefined });
  const playbooks = [await loadPlaybook('server'), await loadPlaybook('client')];
  const rows: Array<{ run: number; secs: number; changed: number; bad: number; rssMiB: number; fds: number }> = [];
  for (let run = 1; run <= 5; run++) {
    started = Date.now();
    let changed = 0;
    let bad = 0;
    for (const pb of playbooks) {
      const stats = new Map<string, HostStats>();
      const reporter: Reporter = { play() {}, task() {}, result() {}, warn() {}, progress() {}, message() {}, recap(s) { for (const [h, x] of s) stats.set(h, x); } };
      const summary = await runPlaybook(pb, inv, { check: false, tags: [], skipTags: [], forks: n, connectTimeoutMs: 30_000, acceptNewHostKeys: false, extraVars: {}, reporter });
      t.equal(summary.code, 0, `run ${run} ${pb.path.replace(/.*\//, '')}: exit 0`);
      for (const x of stats.values()) { changed += x.changed; bad += x.failed + x.unreachable; }
    }
    rows.push({ run, secs: (Date.now() - started) / 1000, changed, bad, rssMiB: Math.round(process.memoryUsage().rss / 1048576), fds: readdirSync('/proc/self/fd').length });
  }
  for (const r of rows) t.comment(`run ${r.run}: ${r.secs.toFixed(1)} s, ${r.changed} changes, ${r.bad} failed/unreachable, rss ${r.rssMiB} MiB, fds ${r.fds}`);
  t.ok(rows.every((r) => r.bad === 0), 'no host failed or was unreachable');
  t.ok(rows[0]!.changed > 0 && rows.slice(1).every((r) => r.changed === 0), 'first run changes, the next four change nothing');
  t.ok(rows[4]!.fds <= rows[1]!.fds + 2, `no fd growth (${rows.map((r) => r.fds).join(' ')})`);
  t.ok(rows[4]!.rssMiB - rows[1]!.rssMiB < 40, `no RSS growth beyond noise (${rows.map((r) => r.rssMiB).join(' ')} MiB)`);
});
