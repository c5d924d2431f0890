// The apply script is run by a real /bin/sh (dash) against real files in a temp dir.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { buildApplyScript, CHANGED, parseApplyOutput } from '../src/engine/apply-script.js';
import type { Change } from '../src/types.js';

const run = (script: string) => parseApplyOutput(execFileSync('sh', ['-s'], { input: script }).toString());

t.test('writes files atomically with mode, creates dirs, reports changed', async (t) => {
  const d = t.testdir({ 'old.conf': 'old\n' });
  const changes: Change[] = [
    { kind: 'dir', path: `${d}/sub`, mode: '0750' },
    { kind: 'file', path: `${d}/sub/new.conf`, content: "x = 'quoted' $(id) `id`\nünï\n", mode: '0600' },
    { kind: 'file', path: `${d}/old.conf`, content: 'new\n' },
  ];
  const r = run(buildApplyScript([{ id: 0, changes }], []));
  t.ok(r.ended);
  t.same(r.steps.map((s) => [s.label, s.status, s.changed]), [['task:0', 'done', true]]);
  t.equal(readFileSync(`${d}/sub/new.conf`, 'utf8'), "x = 'quoted' $(id) `id`\nünï\n");
  t.equal(statSync(`${d}/sub/new.conf`).mode & 0o777, 0o600);
  t.equal(statSync(`${d}/sub`).mode & 0o777, 0o750);
  t.equal(readFileSync(`${d}/old.conf`, 'utf8'), 'new\n');
});

t.test('a failing step restores every file of its task and stops the script', async (t) => {
  const d = t.testdir({ 'a.conf': 'A0\n' });
  const r = run(buildApplyScript([
    { id: 0, changes: [
      { kind: 'file', path: `${d}/a.conf`, content: 'A1\n' },
      { kind: 'file', path: `${d}/b.conf`, content: 'B1\n' },
      { kind: 'command', desc: 'fail', cmd: 'echo boom >&2; exit 7' },
    ] },
    { id: 1, changes: [{ kind: 'file', path: `${d}/c.conf`, content: 'C\n' }] },
  ], []));
  t.equal(r.steps[0]!.status, 'failed');
  t.equal(r.steps[0]!.rc, 7);
  t.match(r.steps[0]!.log, /boom/);
  t.equal(r.steps.length, 1, 'later tasks do not run');
  t.equal(readFileSync(`${d}/a.conf`, 'utf8'), 'A0\n', 'old content back');
  t.notOk(existsSync(`${d}/b.conf`), 'new file removed');
  t.notOk(existsSync(`${d}/c.conf`));
  t.same(execFileSync('sh', ['-c', `ls -A ${d}`]).toString().trim().split('\n'), ['a.conf'], 'no temp files left');
});

t.test('validate rejects a bad file before it replaces the old one', async (t) => {
  const d = t.testdir({ 'v.conf': 'good\n' });
  const r = run(buildApplyScript([{ id: 0, changes: [{ kind: 'file', path: `${d}/v.conf`, content: 'bad\n', validate: "grep -q good %s" }] }], []));
  t.equal(r.steps[0]!.status, 'failed');
  t.equal(readFileSync(`${d}/v.conf`, 'utf8'), 'good\n');
});

t.test('guarded commands report ok when the guard holds; handlers run once when notified', async (t) => {
  const d = t.testdir({});
  writeFileSync(`${d}/exists`, '');
  const handlers = [
    { id: 0, name: 'h1', changes: [{ kind: 'command', desc: 'h1', cmd: `echo h1 >> ${d}/h1.log` } as Change] },
    { id: 1, name: 'h2', changes: [{ kind: 'command', desc: 'h2', cmd: `echo h2 >> ${d}/h2.log` } as Change] },
  ];
  const r = run(buildApplyScript([
    { id: 0, changes: [{ kind: 'command', desc: 'guarded', cmd: `touch ${d}/never`, unless: `test -e ${d}/exists`, notify: ['h2'] }] },
    { id: 1, changes: [{ kind: 'file', path: `${d}/f`, content: 'x\n', notify: ['h1'] }] },
    { id: 2, changes: [{ kind: 'file', path: `${d}/g`, content: 'y\n', notify: ['h1'] }] },
  ], handlers));
  t.same(r.steps.map((s) => [s.label, s.changed]), [['task:0', false], ['task:1', true], ['task:2', true], ['handler:0', true]]);
  t.notOk(existsSync(`${d}/never`));
  t.equal(readFileSync(`${d}/h1.log`, 'utf8'), 'h1\n', 'notified twice, ran once');
  t.notOk(existsSync(`${d}/h2.log`), 'a guarded command that did not run notifies nobody');
});

t.test('a change that satisfies a handler clears its earlier notification, not a later one', async (t) => {
  const d = t.testdir({});
  const handlers = [{ id: 0, name: 'restart', changes: [{ kind: 'command', desc: 'restart', cmd: `echo restart >> ${d}/restart.log` } as Change] }];
  const conf: Change = { kind: 'file', path: `${d}/svc.conf`, content: 'x\n', notify: ['restart'] };
  const start: Change = { kind: 'command', desc: 'start', cmd: `echo start >> ${d}/start.log`, satisfies: ['restart'] };
  // The config written, then the service started (it reads the new config): no restart after.
  const r = run(buildApplyScript([{ id: 0, changes: [conf] }, { id: 1, changes: [start] }], handlers));
  t.same(r.steps.map((s) => s.label), ['task:0', 'task:1'], 'the handler did not run');
  t.notOk(existsSync(`${d}/restart.log`));
  t.equal(readFileSync(`${d}/start.log`, 'utf8'), 'start\n');
  // Notified after the start: it runs.
  const later = run(buildApplyScript([{ id: 0, changes: [start] }, { id: 1, changes: [{ ...conf, content: 'y\n' }] }], handlers));
  t.same(later.steps.map((s) => s.label), ['task:0', 'task:1', 'handler:0'], 'notified after the start: the handler runs');
  t.equal(readFileSync(`${d}/restart.log`, 'utf8'), 'restart\n');
  // A guarded start that did not run satisfies nothing.
  const skipped = run(buildApplyScript([{ id: 0, changes: [{ ...conf, content: 'z\n' }] }, { id: 1, changes: [{ ...start, unless: 'true' }] }], handlers));
  t.same(skipped.steps.map((s) => s.label), ['task:0', 'task:1', 'handler:0'], 'a start that did not run: the handler runs');
});

t.test('a service start satisfies only when it starts the service (one already running keeps its restart)', async (t) => {
  const d = t.testdir({});
  // systemctl as a shell function (functions come before PATH, which the script fixes): is-active reads a flag file.
  const systemctl = `systemctl() { echo "$*" >> ${d}/calls; case $1 in is-active) [ -e ${d}/active ];; start) touch ${d}/active;; esac; }\n`;
  const handlers = [{ id: 0, name: 'restart', changes: [{ kind: 'command', desc: 'restart', cmd: `echo restart >> ${d}/restart.log` } as Change] }];
  const conf: Change = { kind: 'file', path: `${d}/svc.conf`, content: 'x\n', notify: ['restart'] };
  const start: Change = { kind: 'service', name: 'svc.service', state: 'started', satisfies: ['restart'] };
  const stopped = run(systemctl + buildApplyScript([{ id: 0, changes: [conf] }, { id: 1, changes: [start] }], handlers));
  t.same(stopped.steps.map((s) => s.label), ['task:0', 'task:1'], 'stopped, then started here: no restart');
  t.equal(readFileSync(`${d}/calls`, 'utf8'), 'is-active --quiet svc.service\nstart svc.service\n');
  const running = run(systemctl + buildApplyScript([{ id: 0, changes: [{ ...conf, content: 'y\n' }] }, { id: 1, changes: [start] }], handlers));
  t.same(running.steps.map((s) => s.label), ['task:0', 'task:1', 'handler:0'], 'already running: the restart its config notified still runs');
  t.equal(readFileSync(`${d}/restart.log`, 'utf8'), 'restart\n');
  t.equal(readFileSync(`${d}/calls`, 'utf8').split('\n').filter((l) => l.startsWith('start')).length, 1, 'not started twice');
});

t.test('absent keeps a backup and removes the file', async (t) => {
  const d = t.testdir({ 'gone.conf': 'bye\n' });
  const r = run(buildApplyScript([{ id: 0, changes: [{ kind: 'absent', path: `${d}/gone.conf`, backup: true }] }], []));
  t.equal(r.steps[0]!.status, 'done');
  t.notOk(existsSync(`${d}/gone.conf`));
  t.equal(readFileSync(`/var/backups/smbdirect-provision${d}/gone.conf`, 'utf8'), 'bye\n');
  execFileSync('rm', ['-rf', `/var/backups/smbdirect-provision${d}`]);
});

t.test('a script cut short in transit runs nothing at all', async (t) => {
  const d = t.testdir({});
  const script = buildApplyScript([
    { id: 0, changes: [{ kind: 'file', path: `${d}/first.conf`, content: 'one\n' }] },
    { id: 1, changes: [{ kind: 'file', path: `${d}/second.conf`, content: 'two\n'.repeat(5000) }] },
  ], []);
  const cut = script.slice(0, Math.floor(script.length * 0.9)); // mid-way through the second task
  const r = (() => { try { return execFileSync('sh', ['-s'], { input: cut, stdio: ['pipe', 'pipe', 'pipe'] }).toString(); } catch (e) { return String((e as { stdout?: Buffer }).stdout ?? ''); } })();
  t.notOk(parseApplyOutput(r).ended, 'no end marker');
  t.equal(parseApplyOutput(r).steps.length, 0, 'no step ran');
  t.notOk(existsSync(`${d}/first.conf`), 'the first task did not run either');
  t.ok(run(script).ended, 'the whole script runs');
  t.equal(readFileSync(`${d}/first.conf`, 'utf8'), 'one\n');
});

t.test('the controller gone mid-run (stdout closed): the script still finishes its transactions', async (t) => {
  const d = t.testdir({});
  const script = buildApplyScript([
    { id: 0, changes: [{ kind: 'command', desc: 'slow', cmd: 'sleep 0.5' }] },
    { id: 1, changes: [{ kind: 'file', path: `${d}/after.conf`, content: 'written\n' }] },
  ], []);
  const child = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdout.destroy(); // the reading end is gone: the next report line would raise SIGPIPE
  child.stdin.end(script);
  const [code, signal] = await once(child, 'exit');
  t.equal(signal, null, `sh was not killed by SIGPIPE (exit ${code})`);
  t.equal(readFileSync(`${d}/after.conf`, 'utf8'), 'written\n', 'the task after the lost report ran');
});

t.test('a hangup mid-run (SIGHUP to its whole process group): the script and its commands go on', async (t) => {
  const d = t.testdir({});
  const script = buildApplyScript([
    { id: 0, changes: [{ kind: 'command', desc: 'slow', cmd: `: > ${d}/started; sleep 0.5` }] },
    { id: 1, changes: [{ kind: 'file', path: `${d}/after.conf`, content: 'written\n' }] },
  ], []);
  const child = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stdin.end(script);
  while (!existsSync(`${d}/started`)) await new Promise((r) => setTimeout(r, 10));
  process.kill(-child.pid!, 'SIGHUP'); // what a terminal's hangup does
  const [code, signal] = await once(child, 'exit');
  t.equal(signal, null, `sh was not killed by SIGHUP (exit ${code})`);
  t.equal(parseApplyOutput(out).steps.map((s) => s.status).join(), 'done,done', 'the slow command was not killed either');
  t.equal(readFileSync(`${d}/after.conf`, 'utf8'), 'written\n', 'the task after the hangup ran');
});

t.test('a truncated report (session died) has no end marker', async (t) => {
  const full = execFileSync('sh', ['-s'], { input: buildApplyScript([{ id: 0, changes: [{ kind: 'command', desc: 'x', cmd: 'true' }] }], []) }).toString();
  t.ok(parseApplyOutput(full).ended);
  t.notOk(parseApplyOutput(full.slice(0, full.indexOf('end'))).ended);
});

t.test('upload copies binary bytes exactly, with mode', async (t) => {
  const d = t.testdir({});
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256));
  writeFileSync(`${d}/local.ko`, bytes);
  const r = run(buildApplyScript([{ id: 0, changes: [{ kind: 'upload', src: `${d}/local.ko`, path: `${d}/updates/remote.ko`, mode: '0644' }] }], []));
  t.equal(r.steps[0]!.status, 'done');
  t.same(readFileSync(`${d}/updates/remote.ko`), bytes);
  t.equal(statSync(`${d}/updates/remote.ko`).mode & 0o777, 0o644);
});

t.test('#16: absent on a directory only rmdirs it; a failed task recreates it empty with its mode, never its contents', async (t) => {
  const d = t.testdir({ empty: {}, full: { 'data.txt': 'keep\n' }, again: {} });
  execFileSync('chmod', ['2750', `${d}/empty`, `${d}/again`]);
  const ok = run(buildApplyScript([{ id: 0, changes: [{ kind: 'absent', path: `${d}/empty` }] }], []));
  t.same(ok.steps.map((s) => [s.status, s.changed]), [['done', true]]);
  t.notOk(existsSync(`${d}/empty`), 'the empty directory is gone');
  const full = run(buildApplyScript([{ id: 0, changes: [{ kind: 'absent', path: `${d}/full` }] }], []));
  t.equal(full.steps[0]!.status, 'failed', 'a directory that is not empty (anymore) fails the task: rmdir, never rm -r');
  t.equal(readFileSync(`${d}/full/data.txt`, 'utf8'), 'keep\n', 'what is in it is intact');
  const later = run(buildApplyScript([{ id: 0, changes: [
    { kind: 'absent', path: `${d}/again` },
    { kind: 'command', desc: 'fail', cmd: 'exit 3' },
  ] }], []));
  t.equal(later.steps[0]!.status, 'failed');
  t.ok(statSync(`${d}/again`).isDirectory(), 'the removed directory is back');
  t.equal(statSync(`${d}/again`).mode & 0o7777, 0o2750, 'with its mode');
  t.same(execFileSync('sh', ['-c', `ls -A ${d}`]).toString().trim().split('\n'), ['again', 'full'], 'nothing else left behind');
});

t.test('#16: each managed file is compared with what the plan was made from, under the lock, before anything changes', async (t) => {
  const d = t.testdir({ 'a.conf': 'seen\n', 'b.conf': 'B\n', run: {} });
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const lock = { who: 'alice@ctl1 pid 1234', dir: `${d}/run/lock` };
  const changes: Change[] = [
    { kind: 'file', path: `${d}/b.conf`, content: 'B2\n' },
    { kind: 'file', path: `${d}/a.conf`, content: 'mine\n' },
    { kind: 'file', path: `${d}/new.conf`, content: 'N\n' },
  ];
  const expect: Array<[string, string]> = [[`${d}/b.conf`, sha('B\n')], [`${d}/a.conf`, sha('seen\n')], [`${d}/new.conf`, 'missing']];
  writeFileSync(`${d}/a.conf`, 'theirs\n'); // another run wrote it after this plan's facts were read
  const r = run(buildApplyScript([{ id: 0, changes }], [], { lock, expect }));
  t.equal(r.abort, `${d}/a.conf ${CHANGED}`);
  t.same(r.steps, [], 'no task ran');
  t.same([readFileSync(`${d}/a.conf`, 'utf8'), readFileSync(`${d}/b.conf`, 'utf8'), existsSync(`${d}/new.conf`)], ['theirs\n', 'B\n', false], 'nothing changed, not even the files before it');
  t.notOk(existsSync(lock.dir), 'the lock is released');
  writeFileSync(`${d}/new.conf`, 'appeared\n');
  t.equal(run(buildApplyScript([{ id: 0, changes }], [], { expect: [[`${d}/new.conf`, 'missing']] })).abort, `${d}/new.conf ${CHANGED}`, 'a file that appeared');
  const ok = run(buildApplyScript([{ id: 0, changes }], [], { lock, expect: [[`${d}/b.conf`, sha('B\n')], [`${d}/a.conf`, sha('theirs\n')], [`${d}/new.conf`, sha('appeared\n')]] }));
  t.ok(ok.ended, 'unchanged since the facts: applied');
  t.equal(readFileSync(`${d}/a.conf`, 'utf8'), 'mine\n');
});

t.test('#16: the per-host lock: a live holder stops the script with who and since; a holder that is gone is taken over', async (t) => {
  const d = t.testdir({ 'a.conf': 'old\n' });
  const dir = `${d}/run/lock`;
  const script = (who: string, cmd = 'true') => buildApplyScript([{ id: 0, changes: [
    { kind: 'command', desc: 'x', cmd },
    { kind: 'file', path: `${d}/a.conf`, content: `${who}\n` },
  ] }], [], { lock: { who, dir } });
  // A holds the lock: its command waits until B has tried.
  const a = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let aOut = '';
  a.stdout.on('data', (b) => (aOut += b));
  a.stdin.end(script('alice@ctl1 pid 1234', `while [ -d ${d} ] && [ ! -e ${d}/go ]; do sleep 0.05; done`));
  t.teardown(() => { if (a.exitCode === null) a.kill(); }); // its wait ends with the test dir
  for (let i = 0; i < 250 && !(existsSync(`${dir}/owner`) && readFileSync(`${dir}/owner`, 'utf8').includes('since')); i++) await new Promise((r) => setTimeout(r, 20));
  const b = run(script('bob@ctl2 pid 99'));
  t.match(b.abort, new RegExp(`^locked by alice@ctl1 pid 1234 since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+: wait, or remove ${dir} if that run is gone$`));
  t.same(b.steps, [], 'B ran nothing');
  t.equal(readFileSync(`${d}/a.conf`, 'utf8'), 'old\n');
  writeFileSync(`${d}/go`, '');
  await once(a, 'close');
  t.ok(parseApplyOutput(aOut).ended, 'A finished');
  t.equal(readFileSync(`${d}/a.conf`, 'utf8'), 'alice@ctl1 pid 1234\n');
  t.notOk(existsSync(dir), 'A released the lock when its script ended');
  // A lock left by a shell that is gone (killed): its PID no longer runs.
  const gone = spawn('true');
  await once(gone, 'close');
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(`${dir}/owner`, `${gone.pid}\ncarol@ctl3 pid 7 since 2026-01-01 00:00:00 UTC\n`);
  const c = run(script('dave@ctl4 pid 8'));
  t.ok(c.ended, 'the stale lock was taken over');
  t.same(c.warnings, [`took over the lock ${dir} of a run that is gone (carol@ctl3 pid 7 since 2026-01-01 00:00:00 UTC)`]);
  t.notOk(existsSync(dir), 'and released');
});

t.test('sd_warn: a step\'s warnings come back with that step (its output goes to the step log), on success and on failure', async (t) => {
  const r = run(buildApplyScript([
    { id: 0, changes: [{ kind: 'command', desc: 'quiet', cmd: 'true' }] },
    { id: 1, changes: [{ kind: 'command', desc: 'kept', cmd: `sd_warn 'link kept: held'; sd_warn "second; it's quoted"; echo out` }] },
    { id: 2, changes: [{ kind: 'command', desc: 'fails', cmd: `sd_warn 'before the failure'; exit 3` }] },
  ], []));
  t.same(r.steps.map((s) => [s.label, s.status, s.warnings]), [
    ['task:0', 'done', []],
    ['task:1', 'done', ['link kept: held', "second; it's quoted"]],
    ['task:2', 'failed', ['before the failure']],
  ]);
  t.equal(r.steps[1]!.log, 'out\n', 'the warnings are not in the log');
  t.same(r.warnings, [], 'not run-wide warnings');
});
