// Safety, Ctrl-C (#16 item 3): real SIGINT / SIGTERM sent to the controller CLI (`node
// dist/src/cli.js`, by PID) while the run is held in a known phase on the lab (1 server,
// 1 client, policy warn): fact gathering (a `stat` wrapper on the host waits while a hold file
// exists), the apply (an `rm` wrapper sleeps at the stale-credentials removal, as in
// safety-faults) and a module build (a sleeping `apt-get` first on the controller's PATH).
// Each: the exit code (130 / 143), a PLAY RECAP, every managed file whole (old or new), no temp
// file left on the hosts or in the module cache, and a converging next run.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runJson, startLab, tmp } from './helpers/lab.js';
import { buildRootDir, codenameOfKernel } from '../src/kernel/build-root.js';
import { smbInventory } from './fixtures/safety/smb-inventory.js';

const lab = await startLab(t, 1, 1);
const { inv, setMounts } = smbInventory(lab, 'sd-safety-signals-', 'signal-pw');
const H = 'cli01';
const root = lab.root(H);
const CRED_DIR = 'etc/smbdirect-provision/credentials';
const HANG_S = 240;

/** PID 1 of the host's namespaces (sshd): /proc/PID/root is the host's own view, its /tmp included. */
function view(h: string): Promise<string> {
  return lab.pid(h).then((p) => `/proc/${readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)[0]}/root`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, s = HANG_S): Promise<boolean> {
  const deadline = Date.now() + s * 1000;
  while (!(await cond())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string; secs: number }
/** The CLI as a user runs it (text output), with a handle to signal it by PID. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): { pid: number; done: Promise<Run> } {
  const t0 = Date.now();
  const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, secs: (Date.now() - t0) / 1000 })));
  return { pid: p.pid!, done };
}
/** The recap line of HOST as numbers, or undefined when the recap lacks it. */
function recapOf(out: string, host: string): Record<string, number> | undefined {
  const recap = out.split('PLAY RECAP')[1];
  const line = recap?.split('\n').find((l) => l.startsWith(`${host} `));
  return line ? Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])])) : undefined;
}

/** Names the apply script gives its temp files (src/engine/apply-script.ts), anywhere on the host. */
const TEMP = /^\.smbdirect-tx\.|^\.smbdirect\.|\.smbdirect-restore$/;
async function hostTempFiles(h: string): Promise<string[]> {
  const found: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (TEMP.test(n)) found.push(join(rel, n));
      if (lstatSync(p).isDirectory()) walk(p, join(rel, n));
    }
  };
  walk(join(lab.stateDir, 'hosts', h, 'upper'), '/'); // what the host wrote to its root
  walk(join(await view(h), 'tmp'), '/tmp'); // its /tmp
  return found;
}

async function converge(t: Test, pb: string): Promise<void> {
  const r = await runJson(['run', pb, '-i', inv]);
  t.equal(r.code, 0, `${pb}: the next run converges\n${r.stderr}${JSON.stringify(r.results.filter((x) => x.status === 'failed' || x.status === 'unreachable'))}`);
  const again = await runJson(['run', pb, '-i', inv]);
  t.equal(again.code, 0);
  for (const [h, s] of Object.entries(again.recap)) t.equal(s.changed, 0, `${pb} on ${h}: zero changes then`);
}

/** The apply held at the stale-credentials removal (see safety-faults): `reached()` once it is there. */
function pauseAtStaleRemoval(sleepS: number): { reached: () => Promise<boolean>; unplant: () => void } {
  writeFileSync(join(root, CRED_DIR, 'srv01@stale'), 'username=stale\npassword=x\n', { mode: 0o600 });
  writeFileSync(join(root, 'usr/local/bin/rm'), `#!/bin/sh\ncase "$*" in *srv01@stale*) : > /tmp/signals-in-rm; sleep ${sleepS};; esac\nexec /bin/rm "$@"\n`, { mode: 0o755 });
  return {
    reached: async () => until(async () => existsSync(join(await view(H), 'tmp/signals-in-rm'))),
    unplant: () => rmSync(join(root, 'usr/local/bin/rm'), { force: true }),
  };
}

t.test('baseline: server and client converge', async (t) => {
  await converge(t, 'server');
  await converge(t, 'client');
});

t.test('SIGINT during fact gathering: exit 130, recap, nothing changed; the next run converges', async (t) => {
  // The facts script stats the managed files: a `stat` first on the host's PATH marks the moment
  // and waits while /tmp/signals-hold exists.
  const v = await view(H);
  writeFileSync(join(v, 'tmp/signals-hold'), '');
  writeFileSync(join(root, 'usr/local/bin/stat'), '#!/bin/sh\nif [ -e /tmp/signals-hold ]; then : > /tmp/signals-in-facts; while [ -e /tmp/signals-hold ]; do sleep 0.1; done; fi\nexec /usr/bin/stat "$@"\n', { mode: 0o755 });
  t.teardown(() => { rmSync(join(root, 'usr/local/bin/stat'), { force: true }); rmSync(join(v, 'tmp/signals-hold'), { force: true }); });
  const oldFstab = readFileSync(join(root, 'etc/fstab'), 'utf8');
  setMounts(['/mnt/data', '/mnt/facts']);
  const run = start(['run', 'client', '-i', inv]);
  t.ok(await until(() => existsSync(join(v, 'tmp/signals-in-facts'))), 'the run is gathering facts');
  process.kill(run.pid, 'SIGINT');
  const r = await run.done;
  t.comment(`ended ${r.secs.toFixed(1)} s after start`);
  t.equal(r.code, 130, `exit 130\n${r.stdout}${r.stderr}`);
  t.match(r.stderr, /interrupted \(SIGINT\)/, 'says it was interrupted');
  t.match(r.stdout, /PLAY RECAP/, 'a recap');
  t.match(r.stdout, /interrupted \(SIGINT\) while gathering facts: nothing was changed/);
  t.same(recapOf(r.stdout, H), { ok: 0, changed: 0, unreachable: 0, failed: 1, skipped: 0 }, 'the host: failed (interrupted), nothing changed');
  t.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), oldFstab, 'fstab: old');
  rmSync(join(v, 'tmp/signals-hold')); // the facts script on the host ends
  rmSync(join(v, 'tmp/signals-in-facts'));
  t.same(await hostTempFiles(H), [], 'no temp file on the host');
  await converge(t, 'client');
  t.match(readFileSync(join(root, 'etc/fstab'), 'utf8'), /\/mnt\/facts cifs/);
});

for (const [sig, code, pauseS, finished] of [
  ['SIGINT', 130, 4, true], // the apply finishes within the grace: its results are in the recap
  ['SIGTERM', 143, 40, false], // it does not (30 s): the controller leaves, the host goes on alone
] as const) {
  t.test(`${sig} during the apply (${finished ? 'finishes within' : 'outlasts'} the grace): exit ${code}, recap, files whole, no temp files; the next run converges`, async (t) => {
    const v = await view(H);
    const pause = pauseAtStaleRemoval(pauseS);
    t.teardown(pause.unplant);
    const oldFstab = readFileSync(join(root, 'etc/fstab'), 'utf8');
    const mount = `/mnt/${sig.toLowerCase()}`;
    setMounts(['/mnt/data', mount]);
    const run = start(['run', 'client', '-i', inv]);
    t.ok(await pause.reached(), 'the apply reached the stale-credentials removal');
    process.kill(run.pid, sig);
    const r = await run.done;
    t.comment(`ended ${r.secs.toFixed(1)} s after start`);
    t.equal(r.code, code, `exit ${code}\n${r.stdout}${r.stderr}`);
    t.match(r.stderr, new RegExp(`interrupted \\(${sig}\\)`));
    t.match(r.stdout, /PLAY RECAP/, 'a recap');
    const recap = recapOf(r.stdout, H);
    if (finished) {
      t.equal(recap?.failed, 0, 'the host finished its apply: nothing failed');
      t.ok((recap?.changed ?? 0) > 0, 'its changes are in the recap');
      t.notOk(existsSync(join(root, CRED_DIR, 'srv01@stale')), 'the stale file: removed (the task finished)');
    } else {
      t.equal(recap?.failed, 1, 'the host: failed (interrupted)');
      t.match(r.stdout, new RegExp(`interrupted \\(${sig}\\) during the apply, not finished within 30s`));
      t.ok(r.secs < 30 + 25, 'the controller did not wait for the host past the grace');
      // The script on the host, which no one reads any more, goes on by itself once the wrapper wakes.
      t.ok(await until(() => !readdirSync(join(v, 'tmp')).some((n) => n.startsWith('.smbdirect-tx.')) && !existsSync(join(root, CRED_DIR, 'srv01@stale'))),
        'the host finished its script alone (temp dir gone, stale file removed)');
    }
    const fstab = readFileSync(join(root, 'etc/fstab'), 'utf8');
    t.not(fstab, oldFstab, 'fstab: the new one');
    t.match(fstab, new RegExp(`${mount} cifs [^\\n]*\\n$`), 'fstab: whole');
    t.same(readdirSync(join(root, CRED_DIR)), ['srv01@alice'], 'credentials: whole, the stale one gone');
    rmSync(join(v, 'tmp/signals-in-rm'), { force: true });
    t.same(await hostTempFiles(H), [], 'no temp file on the host');
    pause.unplant();
    await converge(t, 'client');
    t.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), fstab, 'the host had written the complete new fstab');
  });
}

t.test('a second SIGINT exits at once (130, no recap); the host finishes alone; the next run converges', async (t) => {
  const v = await view(H);
  const pause = pauseAtStaleRemoval(8);
  t.teardown(pause.unplant);
  setMounts(['/mnt/data', '/mnt/twice']);
  const run = start(['run', 'client', '-i', inv]);
  t.ok(await pause.reached(), 'the apply reached the stale-credentials removal');
  process.kill(run.pid, 'SIGINT');
  await sleep(500);
  const t0 = Date.now();
  process.kill(run.pid, 'SIGINT');
  const r = await run.done;
  t.equal(r.code, 130, `exit 130\n${r.stdout}${r.stderr}`);
  t.ok(Date.now() - t0 < 3000, 'at once');
  t.match(r.stderr, /SIGINT again: exiting at once/);
  t.notMatch(r.stdout, /PLAY RECAP/, 'no recap');
  t.ok(await until(() => !readdirSync(join(v, 'tmp')).some((n) => n.startsWith('.smbdirect-tx.')) && !existsSync(join(root, CRED_DIR, 'srv01@stale'))),
    'the host finished its script alone');
  t.match(readFileSync(join(root, 'etc/fstab'), 'utf8'), /\/mnt\/twice cifs [^\n]*\n$/, 'fstab: new, whole');
  rmSync(join(v, 'tmp/signals-in-rm'), { force: true });
  t.same(await hostTempFiles(H), [], 'no temp file on the host');
  pause.unplant();
  await converge(t, 'client');
});

t.test('SIGINT during a module build: its processes killed, no temp dir in the cache, exit 130, recap, no host changed', async (t) => {
  // The hosts report a Debian release (a `uname` wrapper, as in engine-lab-failures); the build
  // runs in a build root of that release (src/kernel/build-root.ts), here an empty one marked
  // complete in a cache of the test's own, and its first step there goes through `unshare` on
  // the controller: a sleeping stand-in first on the CLI's PATH.
  const release = '6.1.0-997-amd64';
  for (const h of ['srv01', H]) {
    const f = join(lab.root(h), 'usr/local/bin/uname');
    writeFileSync(f, `#!/bin/sh\nif [ "$1" = -r ]; then echo ${release}; else exec /bin/uname "$@"; fi\n`, { mode: 0o755 });
    t.teardown(() => rmSync(f, { force: true }));
  }
  const work = tmp('sd-signals-build-');
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const marker = join(work, 'unshare.pid');
  writeFileSync(join(bin, 'unshare'), `#!/bin/sh\necho $$ >> ${marker}\nexec sleep 600\n`, { mode: 0o755 });
  const cacheRoot = join(work, 'cache');
  const buildRoot = buildRootDir(codenameOfKernel(release)!, cacheRoot);
  mkdirSync(buildRoot, { recursive: true });
  writeFileSync(join(buildRoot, '.complete'), 'a stand-in\n');
  const cache = join(work, 'modules');
  const before = readFileSync(join(root, 'etc/fstab'), 'utf8');
  setMounts(['/mnt/data', '/mnt/build']);
  const run = start(['run', 'client', '-i', inv, '-e', 'smbdirect_kernel_policy=build-modules', '-e', `smbdirect_modules_cache=${cache}`],
    { PATH: `${bin}:${process.env.PATH}`, SMBDIRECT_CACHE_DIR: cacheRoot });
  t.ok(await until(() => existsSync(marker) && readFileSync(marker, 'utf8').trim() !== ''), 'the build is running (its first step in the build root)');
  t.ok(existsSync(cache) && readdirSync(cache).some((n) => n.includes('.tmp-')), 'the build has its temp dir in the cache');
  const aptPid = Number(readFileSync(marker, 'utf8').trim().split('\n')[0]);
  process.kill(run.pid, 'SIGINT');
  const r = await run.done;
  t.comment(`ended ${r.secs.toFixed(1)} s after start`);
  t.equal(r.code, 130, `exit 130\n${r.stdout}${r.stderr}`);
  t.match(r.stdout + r.stderr, /interrupted \(SIGINT\) while building the SMB Direct modules/);
  t.match(r.stdout, /PLAY RECAP/, 'a recap');
  t.same(recapOf(r.stdout, H), { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0 }, 'the host: not reached');
  t.notOk(existsSync(`/proc/${aptPid}`), 'the build\'s process was killed');
  for (const pid of readFileSync(marker, 'utf8').trim().split('\n').map(Number)) t.notOk(existsSync(`/proc/${pid}`), `none of its processes left (${pid})`);
  t.same(readdirSync(join(buildRoot, 'build')), [], 'nothing left in the build root\'s work dir');
  t.same(existsSync(cache) ? readdirSync(cache) : [], [], 'nothing in the module cache: no temp dir');
  t.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), before, 'no host changed');
  t.same(await hostTempFiles(H), [], 'no temp file on the host');
  setMounts(['/mnt/data']);
  await converge(t, 'client');
});
