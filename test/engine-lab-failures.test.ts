// Runs that fail part-way, on real sshd hosts (the lab), and what the engine promises for each:
//   - a failed module build (smbdirect_kernel_policy=build-modules) stops the run before any host
//     is touched (README, "Real kernels"; smbdirect/kernel-modules' controllerPrepare,
//     src/smb/modules-prepare.ts, run by src/engine/prepare.ts);
//   - a task failing at plan time mid-play: the tasks before it are applied, the ones after it are
//     not, and the handlers they notified are withheld (src/engine/host-play.ts);
//   - a task failing while applying: its files are restored, the tasks after it do not run, and no
//     handler runs, not even one an earlier (applied) task notified (src/engine/apply-script.ts).
// Host files are read from the hosts' filesystems directly (the overlay upper dir holds exactly
// what differs from the base image), not through our own SSH code.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { changedPaths, runCli, runJson, startLab, tmp, upperSnapshot, type JsonRun } from './helpers/lab.js';
import { ensurePrerequisites } from '../src/prereqs.js';

const lab = await startLab(t, 1, 1);
// The build tools from the real archive first (.ci/run purges kmod), so that the offline failure
// below is always the headers' own, never the tools'.
await ensurePrerequisites(['module-build'], () => undefined);
const inv = lab.inventory;
const hosts = ['srv01', 'cli01'];

const snapshot = (h: string): Map<string, string> => upperSnapshot(lab, h);

/** An apt configuration with no sources: apt-get update and install run for real, offline, and find nothing. */
function offlineApt(dir: string): string {
  for (const d of ['empty', 'lists/partial', 'cache/archives/partial']) mkdirSync(join(dir, d), { recursive: true });
  const conf = join(dir, 'apt.conf');
  writeFileSync(conf, [
    'Dir::Etc::SourceList "/dev/null";',
    `Dir::Etc::SourceParts "${dir}/empty";`,
    `Dir::State::Lists "${dir}/lists";`,
    `Dir::Cache "${dir}/cache";`,
    'Debug::NoLocking "true";',
    '',
  ].join('\n'));
  return conf;
}

/**
 * The lab hosts share this machine's kernel, and the engine builds for what each host's
 * `uname -r` says (src/smb/modules-prepare.ts): a `uname` early on the hosts' PATH (/usr/local/bin) makes
 * them report RELEASE. Planted before the "before" snapshot, removed afterwards.
 */
function pretendRelease(t: Test, release: string): void {
  for (const h of hosts) {
    const f = join(lab.root(h), 'usr/local/bin/uname');
    writeFileSync(f, `#!/bin/sh\nif [ "$1" = -r ]; then echo ${release}; else exec /bin/uname "$@"; fi\n`, { mode: 0o755 });
    t.teardown(() => rmSync(f, { force: true }));
  }
}

for (const [what, release, reason] of [
  ['a Debian release whose headers package does not exist: apt-get install fails', '6.1.0-999-amd64',
    // The headers for RELEASE (offline, apt finds nothing).
    /ERROR! building the SMB Direct modules failed; no host was changed: [^\n]*apt-get install linux-headers-6\.1\.0-999-amd64[^\n]* failed[\s\S]*Unable to locate package/],
  ['a RHEL release: refused before apt-get', '5.14.0-503.14.1.el9_5.x86_64',
    /ERROR! building the SMB Direct modules failed; no host was changed: cannot build modules for kernel 5\.14\.0-503\.14\.1\.el9_5\.x86_64: build-modules rebuilds Debian kernels only/],
] as const) {
  t.test(`a failed module build stops the run before any host is touched (${what})`, async (t) => {
    pretendRelease(t, release);
    const dir = tmp('sd-build-fail-');
    const cache = join(dir, 'modules');
    const before = new Map(hosts.map((h) => [h, snapshot(h)]));
    // The sample play, with a message of its own, writes files on every host: had the run gone on,
    // they would show. smbdirect/kernel-modules, last, is the task whose controllerPrepare builds.
    const pb = join(dir, 'sample-build.yml');
    writeFileSync(pb, '- name: Sample play\n  hosts: all\n  tasks: [sample/config, sample/line, sample/marker, smbdirect/kernel-modules]\n');
    const r = await runCli(['run', pb, '-i', inv, '-e', 'smbdirect_kernel_policy=build-modules', '-e', `smbdirect_modules_cache=${cache}`, '-e', `sample_message=built-for-${release}`], { env: { APT_CONFIG: offlineApt(dir) } });
    const out = r.stdout + r.stderr;
    t.equal(r.code, 1, r.code === 1 ? 'exit 1' : `exit 1\n${out}`);
    t.match(out, new RegExp(`build-modules: SMB Direct modules for ${release.replace(/\./g, '\\.')} \\(built once per release, cached\\)`), 'the release the hosts reported is the one built');
    t.match(out, reason, 'a clear reason');
    t.notMatch(out, /PLAY \[|TASK \[|PLAY RECAP/, 'no play started');
    for (const h of hosts) t.same(changedPaths(before.get(h)!, snapshot(h)), [], `${h}: no file changed`);
    t.notOk(existsSync(join(lab.root('srv01'), 'etc/smbdirect-sample.conf')), 'the sample config was never written');
    t.same(existsSync(cache) ? readdirSync(cache) : [], [], 'a failed build leaves nothing in the cache (no manifest, no temp dir)');
  });
}

// A small playbook of test-only task modules (absolute paths), in a temp dir. Each task manages
// /etc/sd-TAG-NAME; `fail_tag` keeps each test's files apart.
const pbDir = tmp('sd-fail-pb-');
const taskModule = (name: string, plan: string, extra = ''): string => {
  const file = join(pbDir, `${name}.mjs`);
  writeFileSync(file, `const path = (vars) => '/etc/sd-' + vars.fail_tag + '-${name}';
export default {
  name: 'test: ${name}',
  reads: (vars) => [path(vars)],
  plan({ vars }) { ${plan} },
};
${extra}`);
  return file;
};
const a = taskModule('a', "return { status: 'change', msg: 'a written', changes: [{ kind: 'file', path: path(vars), content: 'a\\n', notify: ['note'] }] };",
  "export const handlers = [{ name: 'note', changes: (vars) => [{ kind: 'file', path: '/etc/sd-' + vars.fail_tag + '-handler', content: 'handler ran\\n' }] }];\n");
const planFail = taskModule('b', "return { status: 'fail', msg: 'b refuses at plan time (test)' };");
const applyFail = taskModule('bx', "return { status: 'change', msg: 'bx written', changes: [{ kind: 'file', path: path(vars), content: 'new\\n', notify: ['note'] }, { kind: 'command', desc: 'fail', cmd: \"echo 'bx fails on purpose' >&2; exit 3\" }] };");
const c = taskModule('c', "return { status: 'change', msg: 'c written', changes: [{ kind: 'file', path: path(vars), content: 'c\\n', notify: ['note'] }] };");
const playbook = (name: string, tasks: string[]): string => {
  const file = join(pbDir, `${name}.yml`);
  writeFileSync(file, `- name: ${name}\n  hosts: all\n  tasks:\n${tasks.map((x) => `    - ${x}\n`).join('')}`);
  return file;
};
const etc = (h: string, tag: string, name: string): string => join(lab.root(h), `etc/sd-${tag}-${name}`);
const read = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);

/** Runs a play of a, FAILING, c (fail_tag=TAG) and checks what every failure mid-play shares:
 * a applied and kept, the failing task failed, c never run nor reported, the handler a notified not run. */
async function failMidPlay(t: Test, tag: string, failing: string, name: string): Promise<JsonRun> {
  const r = await runJson(['run', playbook(tag, [a, failing, c]), '-i', inv, '-e', `fail_tag=${tag}`]);
  t.equal(r.code, 2, `exit 2: a host failed\n${r.stderr}`);
  for (const h of hosts) {
    t.same(r.results.filter((x) => x.host === h).map((x) => [x.task, x.status]), [
      ['Gathering Facts', 'ok'], ['test: a', 'changed'], [`test: ${name}`, 'failed'],
    ], `${h}: a applied, ${name} failed, c never reported, no handler`);
    t.match(r.recap[h], { ok: 2, changed: 1, failed: 1 });
    t.equal(read(etc(h, tag, 'a')), 'a\n', `${h}: the task before the failure was applied`);
    t.equal(read(etc(h, tag, 'c')), undefined, `${h}: the task after it did not run`);
    t.equal(read(etc(h, tag, 'handler')), undefined, `${h}: the handler a notified did not run`);
  }
  return r;
}

t.test('a task failing at plan time mid-play: earlier tasks applied, later ones not, handlers withheld', async (t) => {
  const r = await failMidPlay(t, 'plan', planFail, 'b');
  for (const h of hosts) t.match(r.results.find((x) => x.host === h && x.task === 'test: b')?.msg, 'b refuses at plan time (test)');
});

t.test('a task failing while applying: its files restored, later tasks and every handler not run', async (t) => {
  for (const h of hosts) writeFileSync(etc(h, 'apply', 'bx'), 'old\n');
  const r = await failMidPlay(t, 'apply', applyFail, 'bx');
  for (const h of hosts) {
    t.match(r.results.find((x) => x.host === h && x.task === 'test: bx')?.msg, /exit 3: bx fails on purpose \(files of this task restored\)/);
    t.equal(read(etc(h, 'apply', 'bx')), 'old\n', `${h}: the failed task's file is the old one`);
  }
  // The same play without the failing task: a is already there, c and the handler (notified by c) run.
  const healed = await runJson(['run', playbook('healed', [a, c]), '-i', inv, '-e', 'fail_tag=apply']);
  t.equal(healed.code, 0);
  for (const h of hosts) {
    t.same(healed.results.filter((x) => x.host === h).map((x) => [x.task, x.status]), [['Gathering Facts', 'ok'], ['test: a', 'ok'], ['test: c', 'changed'], ['note', 'changed']]);
    t.equal(read(etc(h, 'apply', 'handler')), 'handler ran\n', `${h}: handlers do run on a run without failures`);
  }
});
