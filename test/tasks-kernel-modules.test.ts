// The kernel-modules task (build-modules remedy) and the controller's module cache
// (src/kernel/remedy.ts), planned against fixture facts: a cache of fake-but-well-formed .ko files
// in a temp dir stands for a finished build, and the task's probes (sha256 of what is under
// updates/, srcversion of what is loaded) are filled in as the host would answer them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { systemOf, type SystemFacts } from '../src/facts/index.js';
import { cachedModules, DEBIAN_RELEASE, ensureModulesBuilt } from '../src/kernel/remedy.js';
import type { Change, CommandChange, Plan, TaskContext, UploadChange, Vars } from '../src/types.js';
import kernelModules, { PROBE_LOADED, PROBE_SHA } from '../tasks/smbdirect/kernel-modules.js';
import { moduleTargets } from '../src/smb/modules-prepare.js';
import { loadFixtureFacts, type FixtureName } from './fixtures/facts/index.js';

const RELEASE = '6.1.0-41-amd64'; // the debian12 fixture's kernel
const UPDATES = `/lib/modules/${RELEASE}/updates`;
const SRCVERSION = { ksmbd: 'A1B2C3D4E5F60718293A4B5', siw: 'F00DF00DF00DF00DF00DF00', cifs: 'C1F5C1F5C1F5C1F5C1F5C1F' };

/** A controller cache holding a finished build for RELEASE: manifest.json plus three small .ko files. */
function fakeCache(dir: string): Record<'cifs' | 'ksmbd' | 'siw', string> {
  const rel = join(dir, RELEASE);
  mkdirSync(rel, { recursive: true });
  const sha: Record<string, string> = {};
  const modules: Record<string, string> = {};
  for (const [name, v] of Object.entries(SRCVERSION)) {
    const bytes = Buffer.concat([Buffer.from('\x7fELF fake module\0'), Buffer.from(`license=GPL\0srcversion=${v}\0vermagic=${RELEASE} SMP mod_unload\0`)]);
    modules[name] = join(rel, `${name}.ko`);
    writeFileSync(modules[name]!, bytes);
    sha[name] = createHash('sha256').update(bytes).digest('hex');
  }
  writeFileSync(join(rel, 'manifest.json'), JSON.stringify({ dir: rel, modules, patches: [] }));
  return sha as Record<'cifs' | 'ksmbd' | 'siw', string>;
}

const cache = t.testdir({});
const sha = fakeCache(cache);

interface On { shaOut?: string; loadedOut?: string; mutate?: (s: SystemFacts) => void; fixture?: FixtureName; vars?: Vars }
function plan(on: On = {}): Plan {
  const facts = loadFixtureFacts(on.fixture ?? 'debian12');
  on.mutate?.(systemOf(facts));
  facts.probes[PROBE_SHA] = { code: 0, stdout: on.shaOut ?? '' };
  facts.probes[PROBE_LOADED] = { code: 0, stdout: on.loadedOut ?? 'cifs \nksmbd \nsiw \n' };
  const vars: Vars = { inventory_hostname: 'srv1', smbdirect_role: 'server', smbdirect_rdma_mode: 'siw', smbdirect_kernel_policy: 'build-modules', smbdirect_modules_cache: cache, ...on.vars };
  const ctx: TaskContext = { host: 'srv1', vars, facts, check: false };
  return kernelModules.plan(ctx);
}
const changes = (p: Plan): Change[] => (p.status === 'change' ? p.changes : []);
const uploads = (p: Plan): string[] => changes(p).filter((c): c is UploadChange => c.kind === 'upload').map((c) => c.path);
const commands = (p: Plan): CommandChange[] => changes(p).filter((c): c is CommandChange => c.kind === 'command');
const descs = (p: Plan): string[] => commands(p).map((c) => c.desc);
/** The host has the rebuilt files under updates/ and modinfo resolves to them (after depmod). */
const resolved = (s: SystemFacts) => {
  for (const n of ['ksmbd', 'siw'] as const) s.modules.modules[n] = { ...s.modules.modules[n], available: true, path: `${UPDATES}/${n}.ko` };
};
const shaLines = (...names: Array<'ksmbd' | 'siw' | 'cifs'>) => names.map((n) => `${sha[n]}  ${n}.ko\n`).join('');

t.test('the cache: a finished build is found with its hashes and srcversions; an incomplete one is not', async (t) => {
  const c = cachedModules(RELEASE, cache);
  t.ok(c);
  t.equal(c!.modules.ksmbd?.sha256, sha.ksmbd);
  t.equal(c!.modules.ksmbd?.srcversion, SRCVERSION.ksmbd, 'srcversion read from the .modinfo bytes');
  t.equal(cachedModules('6.1.0-99-amd64', cache), undefined, 'no build for another release');
  const partial = t.testdir({});
  fakeCache(partial);
  rmSync(join(partial, RELEASE, 'siw.ko'));
  t.equal(cachedModules(RELEASE, partial), undefined, 'a manifest naming a missing .ko is no build');
});

t.test('a cache moved or copied elsewhere (SMBDIRECT_CACHE_DIR) is found where it now is', async (t) => {
  const moved = mkdtempSync(join(tmpdir(), 'sd-moved-'));
  const from = mkdtempSync(join(tmpdir(), 'sd-from-'));
  t.teardown(() => rmSync(moved, { recursive: true, force: true }));
  fakeCache(from);
  cpSync(join(from, RELEASE), join(moved, RELEASE), { recursive: true });
  rmSync(from, { recursive: true, force: true }); // the manifest still names the old place
  const c = cachedModules(RELEASE, moved);
  t.ok(c, 'found');
  t.equal(c!.modules.cifs?.path, join(moved, RELEASE, 'cifs.ko'));
  t.equal(c!.modules.ksmbd?.sha256, sha.ksmbd);
});

t.test('ensureModulesBuilt refuses a non-Debian kernel release before building anything', async (t) => {
  const root = t.testdir({});
  await t.rejects(ensureModulesBuilt(['6.18.44-fc-v782'], undefined, root), /cannot build modules for kernel 6\.18\.44-fc-v782: build-modules rebuilds Debian kernels only/);
});

t.test('what counts as a Debian kernel release (anything else never reaches apt-get on the controller)', async (t) => {
  for (const r of ['6.1.0-26-amd64', '6.1.0-41-cloud-amd64', '6.1.0-26-rt-amd64', '5.10.0-28-686-pae', '6.12.12+bpo-amd64', '6.12.38+deb13-arm64']) t.ok(DEBIAN_RELEASE.test(r), r);
  for (const r of ['5.14.0-503.14.1.el9_5.x86_64', '6.11.4-301.fc41.x86_64', '6.4.0-150600.23.25-default', '6.10.10-arch1-1', '6.18.44-fc-v782', '6.1.0', '6.1.0-26']) t.notOk(DEBIAN_RELEASE.test(r), r);
});

t.test('probes only under build-modules; other policies skip', async (t) => {
  const probes = kernelModules.probes!({ smbdirect_kernel_policy: 'build-modules' }, 'h');
  t.same(Object.keys(probes).sort(), [PROBE_SHA, PROBE_LOADED].sort());
  t.match(probes[PROBE_SHA], /sha256sum cifs\.ko ksmbd\.ko siw\.ko smbdirect\.ko /, 'smbdirect.ko too (7.1+): unread, it was uploaded and "replaced" on every run');
  t.match(probes[PROBE_LOADED], /for m in cifs ksmbd siw smbdirect;/);
  t.same(kernelModules.probes!({ smbdirect_kernel_policy: 'warn' }, 'h'), {});
  t.same(kernelModules.probes!({}, 'h'), {}, 'the default policy (fail) reads no module file');
  t.match(plan({ vars: { smbdirect_kernel_policy: 'warn' } }), { status: 'skip', msg: /smbdirect_kernel_policy=warn: no modules are rebuilt/ });
});

t.test('a fresh Debian 12 server (siw): upload both, depmod, swap the loaded stock ksmbd, load siw', async (t) => {
  const p = plan();
  t.equal(p.status, 'change');
  t.same(uploads(p), [`${UPDATES}/ksmbd.ko`, `${UPDATES}/siw.ko`]);
  const up = changes(p).find((c): c is UploadChange => c.kind === 'upload' && c.path.endsWith('/ksmbd.ko'))!;
  t.match(up, { src: join(cache, RELEASE, 'ksmbd.ko'), mode: '0644', owner: 'root', group: 'root' });
  t.same(descs(p), [
    `depmod -a ${RELEASE}`,
    'replace the loaded ksmbd module (stop ksmbd, rmmod, modprobe, start again if it ran)',
    'modprobe siw',
  ]);
  t.equal(commands(p)[0]!.cmd, `depmod -a ${RELEASE}`);
  const swap = commands(p)[1]!.cmd;
  t.match(swap, /systemctl stop ksmbd\.service/);
  t.match(swap, /rmmod ksmbd/);
  t.match(swap, /modprobe ksmbd/);
  t.match(swap, /if \[ \$a = 1 \]; then systemctl start ksmbd\.service; fi/, 'started again only if it ran');
  t.ok(swap.indexOf('systemctl stop') < swap.indexOf('rmmod') && swap.indexOf('rmmod') < swap.indexOf('modprobe'), 'stop, unload, then load');
  t.match(commands(p)[2], { cmd: 'modprobe siw', unless: "grep -q '^siw ' /proc/modules" });
  t.match(p.status === 'change' ? p.msg : '', /installed ksmbd\.ko, siw\.ko into \/lib\/modules\/6\.1\.0-41-amd64\/updates .*CONFIG_SMB_SERVER_SMBDIRECT, CONFIG_RDMA_SIW.*; replaced the loaded stock ksmbd; loaded siw: .*taints the kernel/);
});

t.test('sha256 skip: files already on the host with the same hash are not uploaded again', async (t) => {
  const both = plan({ shaOut: shaLines('ksmbd', 'siw') });
  t.same(uploads(both), [], 'no upload when both hashes match');
  t.same(descs(both).filter((d) => d.startsWith('depmod')), [`depmod -a ${RELEASE}`], 'depmod still runs while modinfo does not resolve to updates/');
  const one = plan({ shaOut: `${sha.ksmbd}  ksmbd.ko\n${'0'.repeat(64)}  siw.ko\n` });
  t.same(uploads(one), [`${UPDATES}/siw.ko`], 'only the file whose hash differs');
  const star = plan({ shaOut: `${sha.ksmbd} *ksmbd.ko\n${sha.siw} *siw.ko\n`, mutate: (s) => { resolved(s); s.modules.modules.siw.loaded = true; }, loadedOut: `ksmbd ${SRCVERSION.ksmbd}\nsiw ${SRCVERSION.siw}\n` });
  t.equal(star.status, 'ok', 'sha256sum binary-mode output parses too');
});

t.test('depmod: only when a file changed or modinfo does not resolve to updates/', async (t) => {
  const none = plan({ shaOut: shaLines('ksmbd', 'siw'), mutate: resolved });
  t.notOk(descs(none).some((d) => d.startsWith('depmod')), 'same files, resolved: no depmod');
  const changed = plan({ shaOut: shaLines('ksmbd'), mutate: resolved });
  t.ok(descs(changed).includes(`depmod -a ${RELEASE}`), 'a new siw.ko: depmod');
});

t.test('the loaded module: the rebuilt one stays, a stock one is swapped, a cifs or siw swap has its hint', async (t) => {
  const done = plan({ shaOut: shaLines('ksmbd', 'siw'), mutate: (s) => { resolved(s); s.modules.modules.siw.loaded = true; }, loadedOut: `ksmbd ${SRCVERSION.ksmbd}\nsiw ${SRCVERSION.siw}\n` });
  t.match(done, { status: 'ok', msg: `rebuilt ksmbd, siw for ${RELEASE} installed and loaded` }, 'second run: nothing to do');
  const stock = plan({ shaOut: shaLines('ksmbd', 'siw'), mutate: resolved, loadedOut: 'ksmbd 0123456789ABCDEF0123456\n' });
  t.same(descs(stock), ['replace the loaded ksmbd module (stop ksmbd, rmmod, modprobe, start again if it ran)', 'modprobe siw'], 'installed but the stock ksmbd is still loaded: swap it');
  t.same(uploads(stock), []);
  const client = plan({ vars: { smbdirect_role: 'client' }, mutate: (s) => { s.modules.modules.cifs.loaded = true; }, loadedOut: 'cifs 0123456789ABCDEF0123456\n' });
  t.same(uploads(client), [`${UPDATES}/cifs.ko`, `${UPDATES}/siw.ko`]);
  const swap = commands(client).find((c) => c.desc === 'replace the loaded cifs module (rmmod, modprobe)');
  t.ok(swap, descs(client).join(' | '));
  t.match(swap!.cmd, /cannot unload the loaded cifs module: CIFS shares are mounted \(umount -a -t cifs\), then run again/);
  t.notMatch(swap!.cmd, /systemctl/, 'cifs has no service to stop');
});

t.test('refused where unsigned modules cannot load: Secure Boot, lockdown, sig_enforce, each named', async (t) => {
  const cases: Array<[string, (s: SystemFacts) => void, RegExp]> = [
    ['Secure Boot', (s) => Object.assign(s.security, { secureBoot: true, secureBootSource: 'mokutil' }), /Secure Boot is on \(mokutil\)/],
    ['lockdown integrity', (s) => { s.security.lockdown = 'integrity'; }, /kernel lockdown is integrity/],
    ['lockdown confidentiality', (s) => { s.security.lockdown = 'confidentiality'; }, /kernel lockdown is confidentiality/],
    ['sig_enforce', (s) => { s.security.sigEnforce = true; }, /module signatures are enforced \(sig_enforce\)/],
  ];
  for (const [what, mutate, reason] of cases) {
    const p = plan({ mutate });
    t.equal(p.status, 'fail', `${what}: refused`);
    t.match(p.msg, reason, what);
    t.match(p.msg, /build-modules cannot work here: .*rebuilt modules are unsigned, so the kernel refuses to load them; sign them with a key enrolled in MOK/, `${what}: says why and what to do`);
    t.same(changes(p), [], `${what}: nothing uploaded`);
  }
  const ubuntu = plan({ fixture: 'ubuntu2404', vars: { smbdirect_role: 'client' } });
  t.equal(ubuntu.status, 'fail');
  t.match(ubuntu.msg, /Secure Boot is on \(mokutil\), kernel lockdown is integrity, module signatures are enforced \(sig_enforce\)/, 'all three reasons at once');
  t.match(plan({ mutate: (s) => { s.security.lockdown = 'none'; } }), { status: 'change' }, 'lockdown "none" is no refusal');
});

t.test('refused on a non-Debian kernel and without a build on the controller', async (t) => {
  const fedora = plan({ mutate: (s) => Object.assign(s.distro, { id: 'fedora', pretty: 'Fedora Linux 40' }) });
  t.match(fedora, { status: 'fail', msg: /rebuilds modules from Debian's linux-source against Debian's headers; Fedora Linux 40 \(kernel 6\.1\.0-41-amd64\) is not Debian/ });
  const empty = t.testdir({});
  const nobuild = plan({ vars: { smbdirect_modules_cache: empty } });
  t.match(nobuild, { status: 'fail', msg: new RegExp(`no modules are built for kernel ${RELEASE} on the controller \\(${empty}/${RELEASE}\\)`) });
});

t.test('the build runs on the controller before any play: the task declares it (controllerPrepare)', async (t) => {
  const prep = kernelModules.controllerPrepare!;
  t.ok(prep, 'declared');
  t.ok(prep.wants({ smbdirect_kernel_policy: 'build-modules' }), 'wanted under build-modules');
  for (const v of [{}, { smbdirect_kernel_policy: 'warn' }, { smbdirect_kernel_policy: 'fail' }, { smbdirect_kernel_policy: 'maybe' }]) t.notOk(prep.wants(v), `not under ${JSON.stringify(v)} (a bad value is validate's to report)`);
  // One round trip per host: the release, then the Debian codename (empty line when there is none).
  const out = execFileSync('sh', ['-c', prep.gather], { encoding: 'utf8' }).split('\n');
  t.equal(out[0], execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), 'first line: uname -r');
  t.ok(out.length >= 2, 'then the codename line');
  const host = (name: string, output: string, vars: Vars = {}) => ({ host: { name, groups: ['all'], vars }, vars, output });
  t.same(moduleTargets([host('a', '6.1.0-26-amd64\nbookworm\n'), host('b', '6.1.0-26-amd64\n\n'), host('c', '6.12.38+deb13-amd64\n"trixie"\n'), host('d', '\n'), host('e', '6.1.0-27-amd64\n')]), [
    { release: '6.1.0-26-amd64', codename: 'bookworm' }, { release: '6.12.38+deb13-amd64', codename: 'trixie' }, { release: '6.1.0-27-amd64' },
  ], 'one target per release, with a codename when a host of it has one; hosts without a release left out');
  t.same(moduleTargets([host('b', '6.1.0-26-amd64\n'), host('a', '6.1.0-26-amd64\nbookworm')]), [{ release: '6.1.0-26-amd64', codename: 'bookworm' }], 'a later host fills the codename in');
  const lines: string[] = [];
  await prep.run([host('d', '\n')], (l) => lines.push(l));
  t.same(lines, [], 'no release: nothing built, nothing said');
  const root = t.testdir({});
  await t.rejects(prep.run([host('a', '5.14.0-503.14.1.el9_5.x86_64\n', { smbdirect_modules_cache: root })], (l) => lines.push(l)), /cannot build modules for kernel 5\.14\.0-503\.14\.1\.el9_5\.x86_64: build-modules rebuilds Debian kernels only/);
  t.same(lines, ['build-modules: SMB Direct modules for 5.14.0-503.14.1.el9_5.x86_64 (built once per release, cached)'], 'says what it builds, as before');
});
