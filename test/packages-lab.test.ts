// The `packages` change installing for real with apt on the lab's Debian bookworm hosts (#17):
// a package the image lacks, the update-and-retry path when the host's package lists are stale,
// a release (-t bookworm-backports) that wins over the main suite, and a package that exists
// nowhere (src/engine/apply-script.ts, packageLines).
// The lab hosts have no network beyond the lab bridge, so each gets a local apt repository in
// its root fs, built here from a tiny real .deb (dpkg-deb): /srv/repo/main has smbd-test-tool
// 1.0-1, /srv/repo/backports (a Release saying bookworm-backports, NotAutomatic like Debian's)
// has 2.0-1~bpo12+1. The image's deb.debian.org sources are moved away in the host's root only
// (the lab throws it away). An apt-get shim early on the hosts' PATH (/usr/local/bin) logs each
// invocation, so the retry is seen, not guessed.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { changedPaths, runJson, startLab, tmp, upperSnapshot } from './helpers/lab.js';

const lab = await startLab(t, 1, 1);
const inv = lab.inventory;
const hosts = ['srv01', 'cli01'];
const PKG = 'smbd-test-tool';
const MAIN = '1.0-1';
const BPO = '2.0-1~bpo12+1';
const CALLS = 'var/log/sd-test-apt-calls';

/** A real .deb of PKG at VERSION in DIR (xz: what bookworm's dpkg reads); returns its file name. */
function buildDeb(dir: string, version: string): string {
  const tree = tmp('sd-deb-');
  mkdirSync(join(tree, 'DEBIAN'));
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  writeFileSync(join(tree, 'DEBIAN/control'), `Package: ${PKG}\nVersion: ${version}\nArchitecture: all\nMaintainer: smbdirect-provision tests <root@localhost>\nSection: misc\nPriority: optional\nDescription: test package of smbdirect-provision (#17)\n`);
  writeFileSync(join(tree, `usr/bin/${PKG}`), `#!/bin/sh\necho ${PKG} ${version}\n`, { mode: 0o755 });
  chmodSync(join(tree, `usr/bin/${PKG}`), 0o755);
  const file = `${PKG}_${version.replace(/^\d+:/, '')}_all.deb`;
  execFileSync('dpkg-deb', ['-Zxz', '--root-owner-group', '--build', tree, join(dir, file)], { stdio: 'pipe' });
  return file;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A flat repository (`deb [trusted=yes] file:DIR ./`): the .deb, a Packages index written from
 * its control fields, and a Release with the suite apt's -t matches (a=/n=) and the index's hash. */
function flatRepo(dir: string, version: string, release: string[]): void {
  mkdirSync(dir, { recursive: true });
  const deb = buildDeb(dir, version);
  const bytes = readFileSync(join(dir, deb));
  const control = execFileSync('dpkg-deb', ['-f', join(dir, deb)], { encoding: 'utf8' }).trimEnd();
  const index = Buffer.from(`${control}\nFilename: ./${deb}\nSize: ${bytes.length}\nSHA256: ${sha256(bytes)}\n\n`);
  writeFileSync(join(dir, 'Packages'), index);
  writeFileSync(join(dir, 'Release'), [...release, `Date: ${new Date().toUTCString()}`, 'SHA256:', ` ${sha256(index)} ${index.length} Packages`, ''].join('\n'));
}

for (const h of hosts) {
  const root = lab.root(h);
  const moved = join(root, 'root/sd-test-moved-apt-sources');
  mkdirSync(moved, { recursive: true });
  for (const f of ['etc/apt/sources.list', ...readdirSync(join(root, 'etc/apt/sources.list.d')).map((n) => `etc/apt/sources.list.d/${n}`)]) {
    if (existsSync(join(root, f))) renameSync(join(root, f), join(moved, f.replace(/\//g, '_')));
  }
  flatRepo(join(root, 'srv/repo/main'), MAIN, ['Origin: smbdirect-test', 'Suite: bookworm', 'Codename: bookworm']);
  flatRepo(join(root, 'srv/repo/backports'), BPO, ['Origin: smbdirect-test', 'Suite: bookworm-backports', 'Codename: bookworm-backports', 'NotAutomatic: yes', 'ButAutomaticUpgrades: yes']);
  writeFileSync(join(root, 'etc/apt/sources.list.d/sd-test.list'), 'deb [trusted=yes] file:/srv/repo/main ./\ndeb [trusted=yes] file:/srv/repo/backports ./\n');
  writeFileSync(join(root, 'usr/local/bin/apt-get'), `#!/bin/sh\nprintf '%s\\n' "$*" >> /${CALLS}\nexec /usr/bin/apt-get "$@"\n`, { mode: 0o755 });
}

// The test task: PKG installed (at pkg_version when given), else a `packages` change (release: pkg_release).
const dir = tmp('sd-pkg-pb-');
const taskFile = join(dir, 'package.mjs');
writeFileSync(taskFile, `export default {
  name: 'test: package',
  probes: (vars) => ({ pkg: "dpkg-query -W -f='\${Status}|\${Version}' " + vars.pkg_name }),
  plan({ vars, facts }) {
    const p = facts.probes.pkg;
    const [status = '', version = ''] = (p && p.code === 0 ? p.stdout : '').split('|');
    const have = /(^| )installed$/.test(status) ? version : undefined;
    if (have && (!vars.pkg_version || have === String(vars.pkg_version))) return { status: 'ok', msg: vars.pkg_name + ' ' + have + ' installed' };
    const release = vars.pkg_release ? { release: String(vars.pkg_release) } : {};
    return { status: 'change', msg: 'install ' + vars.pkg_name, changes: [{ kind: 'packages', manager: 'apt', names: [String(vars.pkg_name)], ...release }] };
  },
};
`);
const playbook = (host: string): string => {
  const file = join(dir, `${host}.yml`);
  writeFileSync(file, `- name: packages on ${host}\n  hosts: ${host}\n  tasks:\n    - ${taskFile}\n`);
  return file;
};
const run = (host: string, vars: string[]) => runJson(['run', playbook(host), '-i', inv, ...vars.flatMap((v) => ['-e', v])]);
const taskResult = (r: Awaited<ReturnType<typeof run>>) => r.results.find((x) => x.task === 'test: package');

/** What dpkg's status file says of PKG: its version when installed, else undefined. */
function dpkgVersion(h: string, pkg = PKG): string | undefined {
  const status = readFileSync(join(lab.root(h), 'var/lib/dpkg/status'), 'utf8');
  const stanza = status.split('\n\n').find((s) => s.startsWith(`Package: ${pkg}\n`));
  return stanza && /\nStatus: install ok installed\n/.test(stanza) ? /\nVersion: (.*)/.exec(stanza)?.[1] : undefined;
}
/** The apt-get invocations the shim logged since the last call (then forgets them). */
function aptCalls(h: string): string[] {
  const f = join(lab.root(h), CALLS);
  const calls = existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  writeFileSync(f, '');
  return calls.map((c) => c.replace(/^install -y -q -o Dpkg::Options::=--force-confold /, 'install '));
}
const repoLists = (h: string): string[] => readdirSync(join(lab.root(h), 'var/lib/apt/lists')).filter((n) => n.includes('srv_repo'));
const bin = (h: string): string => join(lab.root(h), `usr/bin/${PKG}`);

/** apt-get update run on the host itself (its mount namespace and root), outside the engine. */
async function aptUpdateOnHost(h: string): Promise<void> {
  const unshare = await lab.pid(h);
  const sshd = Number(readFileSync(`/proc/${unshare}/task/${unshare}/children`, 'utf8').trim().split(/\s+/)[0]);
  execFileSync('nsenter', ['-t', String(sshd), '-m', '-n', '-r', '-w', '/usr/bin/apt-get', 'update', '-q'], { stdio: 'pipe' });
}

t.test('a package the image lacks is installed (fresh lists: one apt-get install), a second run changes nothing', async (t) => {
  const h = 'srv01';
  t.notOk(existsSync(bin(h)), `before: no /usr/bin/${PKG}`);
  t.equal(dpkgVersion(h), undefined, 'before: dpkg does not know it');
  await aptUpdateOnHost(h);
  aptCalls(h);
  const r = await run(h, [`pkg_name=${PKG}`]);
  t.equal(r.code, 0, `exit 0\n${r.stderr}${JSON.stringify(r.results)}`);
  t.equal(taskResult(r)?.status, 'changed');
  t.equal(dpkgVersion(h), MAIN, 'the main suite\'s version: backports is NotAutomatic, as Debian\'s');
  t.equal(readFileSync(bin(h), 'utf8'), `#!/bin/sh\necho ${PKG} ${MAIN}\n`, 'its file is on the host');
  t.same(aptCalls(h), [`install ${PKG}`], 'one apt-get install, no update needed');
  const again = await run(h, [`pkg_name=${PKG}`]);
  t.equal(again.code, 0);
  t.match(taskResult(again), { status: 'ok', msg: `${PKG} ${MAIN} installed` }, 'the facts see it installed');
  t.equal(again.recap[h]?.changed, 0, 'second run: 0 changes');
  t.same(aptCalls(h), [], 'and apt-get is not run');
});

t.test('stale package lists: apt-get install fails, apt-get update and the retry install it', async (t) => {
  const h = 'cli01';
  t.equal(dpkgVersion(h), undefined, 'before: not installed');
  t.same(repoLists(h), [], 'before: the host never read the new repository (its lists are stale)');
  const r = await run(h, [`pkg_name=${PKG}`]);
  t.equal(r.code, 0, `exit 0\n${r.stderr}${JSON.stringify(r.results)}`);
  t.equal(taskResult(r)?.status, 'changed');
  t.same(aptCalls(h), [`install ${PKG}`, 'update -q', `install ${PKG}`], 'install failed, update, install again');
  t.equal(dpkgVersion(h), MAIN, 'installed');
  t.ok(existsSync(bin(h)), `/usr/bin/${PKG} present`);
  t.not(repoLists(h).length, 0, 'the host\'s lists now hold the repository');
});

t.test('a release (-t bookworm-backports) installs its version over the main suite\'s', async (t) => {
  const h = 'srv01';
  t.equal(dpkgVersion(h), MAIN, `before: ${MAIN} (from the first test)`);
  const vars = [`pkg_name=${PKG}`, `pkg_version=${BPO}`, 'pkg_release=bookworm-backports'];
  const r = await run(h, vars);
  t.equal(r.code, 0, `exit 0\n${r.stderr}${JSON.stringify(r.results)}`);
  t.equal(taskResult(r)?.status, 'changed');
  t.same(aptCalls(h), [`install -t bookworm-backports ${PKG}`]);
  t.equal(dpkgVersion(h), BPO, 'the backports version is installed');
  t.equal(readFileSync(bin(h), 'utf8'), `#!/bin/sh\necho ${PKG} ${BPO}\n`);
  const again = await run(h, vars);
  t.equal(again.recap[h]?.changed, 0, 'second run: 0 changes');
});

t.test('a package that exists nowhere: the task fails with apt\'s message, exit 2, nothing else changes', async (t) => {
  const h = 'cli01';
  const before = upperSnapshot(lab, h, { mtime: false });
  const r = await run(h, ['pkg_name=smbd-test-nowhere']);
  t.equal(r.code, 2, `exit 2\n${r.stderr}`);
  t.match(taskResult(r), { status: 'failed', msg: /^install smbd-test-nowhere: exit 1: [\s\S]*E: Unable to locate package smbd-test-nowhere\n[\s\S]*files of this task restored/ });
  t.same(aptCalls(h), ['install smbd-test-nowhere', 'update -q', 'install smbd-test-nowhere'], 'the retry ran and failed too');
  // apt-get update rewrites its own lists and caches (and our shim logs): anything else changed is a bug.
  const changed = changedPaths(before, upperSnapshot(lab, h, { mtime: false }))
    .filter((k) => !/^var\/(lib\/apt\/lists|cache\/apt)(\/|$)/.test(k) && k !== CALLS);
  t.same(changed, [], 'no other file changed');
  t.equal(dpkgVersion(h), MAIN, `${PKG} still ${MAIN}`);
  t.equal(dpkgVersion(h, 'smbd-test-nowhere'), undefined);
  t.ok(statSync(bin(h)).isFile());
});
