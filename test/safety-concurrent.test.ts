// Safety, two operators at once (#16 item 2): two real CLI runs (`node dist/src/cli.js`) against
// the same lab hosts (1 server, 1 client: the `sample` playbook on both) with different values
// of the variables behind two managed files (/etc/smbdirect-sample.conf, /etc/environment).
// Each race is made deterministic by holding one run on the hosts with a wrapper first on the
// host's PATH (as in safety-faults / safety-signals):
// - the lock: run A is held inside its apply (an `rm` wrapper at the removal of its transaction
//   dir, after its files are written), run B then finds each host locked and says by whom;
// - the compare: run B is held in its facts (a `cat` wrapper, after the managed files were read),
//   run A then applies in full; B, let go, finds the files changed since its facts and stops.
// Each: the loser exits 2 with its reason per host and changes nothing; every file is whole, as
// the winner wrote it (a --check with the winner's values reports zero changes); the loser run
// again converges, then reports zero changes.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { CLI, runJson, startLab } from './helpers/lab.js';

const lab = await startLab(t, 1, 1);
const HOSTS = ['srv01', 'cli01'];
const inv = lab.inventory;
const LOCK = '/run/smbdirect-provision/lock';

/** PID 1 of the host's namespaces (sshd): /proc/PID/root is the host's own view, /tmp and /run included. */
function view(h: string): Promise<string> {
  return lab.pid(h).then((p) => `/proc/${readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)[0]}/root`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, s = 120): Promise<boolean> {
  const deadline = Date.now() + s * 1000;
  while (!(await cond())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
const vars = (tag: string) => ['-e', `sample_message=${tag}`, '-e', `sample_env_value=${tag}`];

interface Run { code: number | null; results: Array<{ host: string; task: string; status: string; msg: string }>; out: string }
/** A CLI run in the background (--json), with its PID. */
function start(args: string[]): { pid: number; done: Promise<Run> } {
  const p = spawn(process.execPath, [CLI, ...args, '--json'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  const done = new Promise<Run>((resolve) => p.on('close', (code) => resolve({
    code,
    out,
    results: out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.type === 'task'),
  })));
  return { pid: p.pid!, done };
}

/** A wrapper NAME in each host's /usr/local/bin that, on its first call whose arguments match
 * PATTERN while /tmp/race-hold exists, marks /tmp/race-in and waits until /tmp/race-held is gone. */
async function hold(t: Test, name: string, real: string, pattern: string, runFirst: boolean): Promise<{ reached: () => Promise<boolean>; release: () => Promise<void> }> {
  const wait = `case "$*" in *${pattern}*) if mv /tmp/race-hold /tmp/race-held 2>/dev/null; then : > /tmp/race-in; while [ -e /tmp/race-held ]; do sleep 0.05; done; fi;; esac`;
  const body = runFirst ? `#!/bin/sh\n${real} "$@"; rc=$?\n${wait}\nexit $rc\n` : `#!/bin/sh\n${wait}\nexec ${real} "$@"\n`;
  const views = await Promise.all(HOSTS.map(view));
  for (const [i, h] of HOSTS.entries()) {
    writeFileSync(join(lab.root(h), 'usr/local/bin', name), body, { mode: 0o755 });
    writeFileSync(join(views[i]!, 'tmp/race-hold'), '');
  }
  const release = async () => { for (const v of views) for (const f of ['race-hold', 'race-held', 'race-in']) rmSync(join(v, 'tmp', f), { force: true }); };
  t.teardown(async () => { for (const h of HOSTS) rmSync(join(lab.root(h), 'usr/local/bin', name), { force: true }); await release(); });
  return { reached: () => until(() => views.every((v) => existsSync(join(v, 'tmp/race-in')))), release };
}

/** Every managed file is exactly what a run with `tag` writes: a --check with its values changes nothing. */
async function wroteWhole(t: Test, tag: string): Promise<void> {
  const c = await runJson(['run', 'sample', '-i', inv, '--check', ...vars(tag)]);
  t.equal(c.code, 0, c.stderr);
  for (const h of HOSTS) {
    t.equal(c.recap[h]?.changed, 0, `${h}: every file as the ${tag} run wrote it, byte for byte`);
    t.match(readFileSync(join(lab.root(h), 'etc/smbdirect-sample.conf'), 'utf8'), `message = ${tag}\n`);
    t.match(readFileSync(join(lab.root(h), 'etc/environment'), 'utf8'), `SMBDIRECT_SAMPLE=${tag}\n`);
  }
}

async function converge(t: Test, tag: string): Promise<void> {
  const r = await runJson(['run', 'sample', '-i', inv, ...vars(tag)]);
  t.equal(r.code, 0, `the ${tag} run again converges\n${r.stderr}`);
  const again = await runJson(['run', 'sample', '-i', inv, ...vars(tag)]);
  t.equal(again.code, 0);
  for (const h of HOSTS) t.equal(again.recap[h]?.changed, 0, `${h}: zero changes then`);
}

t.test('baseline', async (t) => converge(t, 'base'));

t.test('run B while run A applies: B finds each host locked (who, PID, since) and changes nothing; A finishes', async (t) => {
  const h = await hold(t, 'rm', '/bin/rm', 'smbdirect-tx', false);
  const a = start(['run', 'sample', '-i', inv, ...vars('aye')]);
  t.ok(await h.reached(), 'A is inside its apply on both hosts (files written, lock held)');
  for (const host of HOSTS) {
    const owner = readFileSync(join(await view(host), LOCK, 'owner'), 'utf8');
    t.match(owner, new RegExp(`^\\d+\\n${userInfo().username}@${hostname()} pid ${a.pid} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+\\n$`), `${host}: the lock names A`);
  }
  const b = await runJson(['run', 'sample', '-i', inv, ...vars('bee')]);
  t.equal(b.code, 2, `B exits 2\n${b.stderr}`);
  for (const host of HOSTS) {
    const failed = b.results.filter((r) => r.host === host && r.status === 'failed');
    t.equal(failed.length, 1, `${host}: one failed result`);
    t.match(failed[0]?.msg, new RegExp(`^locked by ${userInfo().username}@${hostname()} pid ${a.pid} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+: wait, or remove ${LOCK} if that run is gone$`), `${host}: B says who holds it`);
    t.equal(b.recap[host]?.changed, 0, `${host}: B changed nothing`);
  }
  await h.release();
  const ra = await a.done;
  t.equal(ra.code, 0, `A exits 0\n${ra.out}`);
  for (const host of HOSTS) t.notOk(existsSync(join(await view(host), LOCK)), `${host}: A released the lock`);
  await wroteWhole(t, 'aye');
  await converge(t, 'bee');
});

t.test('run A applies between run B\'s facts and B\'s apply: B finds the files changed since its facts and changes nothing', async (t) => {
  const h = await hold(t, 'cat', '/bin/cat', 'smbdirect-sample.conf', true);
  const b = start(['run', 'sample', '-i', inv, ...vars('dee')]);
  t.ok(await h.reached(), 'B has read the managed files on both hosts and is held in its facts');
  const a = await runJson(['run', 'sample', '-i', inv, ...vars('cee')]);
  t.equal(a.code, 0, `A exits 0\n${a.stderr}`);
  await h.release();
  const rb = await b.done;
  t.equal(rb.code, 2, `B exits 2\n${rb.out}`);
  for (const host of HOSTS) {
    const failed = rb.results.filter((r) => r.host === host && r.status === 'failed');
    t.equal(failed.length, 1, `${host}: one failed result`);
    t.match(failed[0]?.msg, /^\/etc\/\S+ changed since its facts were read: run again$/, `${host}: B says so`);
    t.notOk(rb.results.some((r) => r.host === host && r.status === 'changed'), `${host}: B changed nothing`);
  }
  await wroteWhole(t, 'cee');
  await converge(t, 'dee');
});
