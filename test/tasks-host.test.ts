// Kernel support (src/smb/support.ts), preflight and packages, planned against fixture facts.
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { systemOf, type SystemFacts } from '../src/facts/index.js';
import { compareDebVersions, kernelGate, kernelSupport, rdmaNetdev } from '../src/smb/support.js';
import type { Change, Plan, TaskContext, Vars } from '../src/types.js';
import packages, { BACKPORTS_LIST } from '../tasks/smbdirect/packages.js';
import preflight from '../tasks/smbdirect/preflight.js';
import { loadFixtureFacts, type FixtureName } from './fixtures/facts/index.js';

function ctx(name: FixtureName, vars: Vars, mutate?: (s: SystemFacts) => void): TaskContext {
  const facts = loadFixtureFacts(name);
  mutate?.(systemOf(facts));
  return { host: 'h1', vars: { inventory_hostname: 'h1', smbdirect_fragment_dir: '/nonexistent/frag', ...vars }, facts, check: false };
}
const sysOf = (name: FixtureName, mutate?: (s: SystemFacts) => void): SystemFacts => systemOf(ctx(name, {}, mutate).facts);
const changes = (p: Plan): Change[] => (p.status === 'change' ? p.changes : []);
const text = (p: Plan): string => [p.status === 'change' ? (p.msg ?? '') : p.msg, ...(p.warnings ?? []), p.report ?? ''].join('\n');

t.test('Debian version comparison follows dpkg', async (t) => {
  t.ok(compareDebVersions('3.5.2-2~bpo12+1', '3.5.2') >= 0, 'a backport of 3.5.2 is >= 3.5.2');
  t.ok(compareDebVersions('3.4.7-1', '3.5.2') < 0);
  t.ok(compareDebVersions('3.5.10', '3.5.2') > 0, 'numeric, not lexical');
  t.ok(compareDebVersions('1.0~rc1', '1.0') < 0, '~ sorts before the end');
  t.ok(compareDebVersions('1:0.1', '9.9') > 0, 'epoch wins');
  t.equal(compareDebVersions('2:7.0-2', '2:7.0-2'), 0);
  t.ok(compareDebVersions('1.0a', '1.0') > 0, 'letters sort after the end');
  t.ok(compareDebVersions('1.0+b1', '1.0a') > 0, 'non-letters sort after letters');
});

t.test('kernel support on Debian 12: what is missing, for each role', async (t) => {
  const server = kernelSupport(sysOf('debian12'), 'server', 'siw');
  t.equal(server.ok, false);
  t.same(server.missing.map((m) => m.symbol), ['SMB_SERVER_SMBDIRECT', 'RDMA_SIW']);
  t.equal(server.missing[0]!.meaning, 'CONFIG_SMB_SERVER_SMBDIRECT is not set: this host can serve SMB, but not over RDMA');
  t.match(server.missing[1]!.fix, /smbdirect_rdma_mode: rxe \(CONFIG_RDMA_RXE=m here\)/);
  const client = kernelSupport(sysOf('debian12'), 'client', 'rxe');
  t.same(client.missing.map((m) => [m.symbol, m.have, m.want]), [['CIFS_SMB_DIRECT', 'not set', 'y']]);
});

t.test('without a kernel config, evidence decides and is named', async (t) => {
  const s = kernelSupport(sysOf('debian12', (sys) => {
    for (const k of Object.keys(sys.kconfig.symbols)) (sys.kconfig.symbols as Record<string, string>)[k] = 'unknown';
    sys.kconfig.source = null;
    sys.modules.modules.ksmbd.depends = ['rdma_cm', 'ib_core'];
    sys.modules.modules.siw = { available: true, builtin: false, path: '/lib/modules/x/siw.ko', depends: ['ib_core'], loaded: false };
  }), 'server', 'siw');
  t.equal(s.ok, true, s.missing.map((m) => m.meaning).join('; '));
  t.match(s.notes.join('\n'), /judged from evidence: .*CONFIG_SMB_SERVER_SMBDIRECT: modinfo ksmbd: depends on rdma_cm,ib_core/);
  const client = kernelSupport(sysOf('rhel9', (sys) => {
    sys.kconfig.source = null;
    sys.kconfig.symbols.CIFS_SMB_DIRECT = 'unknown';
  }), 'client', 'siw');
  t.equal(client.ok, true);
  t.match(client.notes.join('\n'), /CONFIG_CIFS_SMB_DIRECT: \/proc\/fs\/cifs\/DebugData lists SMB_DIRECT/);
  const chroot = kernelSupport(sysOf('debian12-chroot'), 'client', 'siw');
  t.match(chroot.notes.join('\n'), /modinfo finds none of .*container or chroot/);
});

t.test('a module rebuilt into updates/ counts as the remedy applied', async (t) => {
  const file = '/lib/modules/6.1.0-41-amd64/updates/ksmbd.ko';
  const s = kernelSupport(sysOf('debian12', (sys) => {
    sys.modules.updates = [file, '/lib/modules/6.1.0-41-amd64/updates/siw.ko'];
    sys.modules.modules.ksmbd = { available: true, builtin: false, path: file, depends: ['rdma_cm', 'ib_core'], loaded: false };
  }), 'server', 'siw');
  t.equal(s.ok, true);
  t.match(s.notes.join('\n'), /ksmbd\.ko was rebuilt: CONFIG_SMB_SERVER_SMBDIRECT counted as present, the remedy is applied/);
  const without = kernelSupport(sysOf('debian12', (sys) => {
    sys.modules.updates = [file];
    sys.modules.modules.ksmbd = { available: true, builtin: false, path: file, depends: ['cifs_arc4'], loaded: false };
  }), 'server', 'rxe');
  t.same(without.missing.map((m) => m.symbol), ['SMB_SERVER_SMBDIRECT']);
  t.match(without.notes.join('\n'), /rebuilt without SMB Direct/);
});

t.test('kernel 5.10 is too old; RHEL 9 5.14 with the options is a backport', async (t) => {
  const old = kernelSupport(sysOf('debian12', (sys) => Object.assign(sys.kernel, { release: '5.10.0-28-amd64', major: 5, minor: 10 })), 'client', 'rxe');
  t.match(old.kernelTooOld, /kernel 5\.10\.0-28-amd64 is older than 5\.15/);
  const rhel = kernelSupport(sysOf('rhel9'), 'client', 'siw');
  t.equal(rhel.ok, true);
  t.match(rhel.notes.join('\n'), /older than 5\.15, but has every option/);
});

t.test('preflight on Debian 12: fails naming each option, its meaning and the fix; fragment in the report', async (t) => {
  const server = preflight.plan(ctx('debian12', { smbdirect_role: 'server' }));
  t.equal(server.status, 'fail');
  t.match(server.msg, /CONFIG_SMB_SERVER_SMBDIRECT is not set: this host can serve SMB, but not over RDMA \(fix: build the kernel, or just ksmbd\.ko, with CONFIG_SMB_SERVER_SMBDIRECT=y\)/);
  t.match(server.msg, /CONFIG_RDMA_SIW is not set/);
  t.match(server.msg, /kernel config fragment: \/nonexistent\/frag\/h1-6\.1\.0-41-amd64\.config/);
  t.match(server.report, /CONFIG_SMB_SERVER_SMBDIRECT=y\n\s+# without RDMA_SIW.*\n\s+CONFIG_RDMA_SIW=m/);
  t.match(server.warnings?.join('\n'), /ksmbd-tools 3\.4\.7 is too old for kernel 6\.1\.0-41-amd64 \(payload_sz\).*the packages task installs it/, 'only a warning: packages upgrades it');
  const client = preflight.plan(ctx('debian12', { smbdirect_role: 'client' }));
  t.match(client.msg, /CONFIG_CIFS_SMB_DIRECT is not set: this host can mount SMB shares, not over RDMA/);
  t.match(client.msg, /CONFIG_RDMA_SIW/);
});

t.test('preflight with policy warn: warnings, and the fragment written as a local file', async (t) => {
  const dir = t.testdir();
  const c = ctx('debian12', { smbdirect_role: 'server', smbdirect_kernel_policy: 'warn', smbdirect_fragment_dir: dir });
  const p = preflight.plan(c);
  t.equal(p.status, 'change');
  const [frag] = changes(p);
  const path = `${dir}/h1-6.1.0-41-amd64.config`;
  t.same(frag && { kind: frag.kind, path: 'path' in frag ? frag.path : '' }, { kind: 'local-file', path });
  const content = (frag as { content: string }).content;
  t.match(content, /^# Kernel options SMB Direct needs on h1 \(role server, smbdirect_rdma_mode siw\)\.\n# Running kernel: 6\.1\.0-41-amd64 /);
  t.same(content.split('\n').filter((l) => l.startsWith('CONFIG_')), ['CONFIG_SMB_SERVER_SMBDIRECT=y', 'CONFIG_RDMA_SIW=m']);
  t.notMatch(content, /^# CONFIG_/m, 'no line merge_config.sh would read as "is not set"');
  t.match(p.warnings?.join('\n'), /CONFIG_SMB_SERVER_SMBDIRECT is not set[^]*smbdirect_kernel_policy=warn: going on, configuration is staged only/);
  writeFileSync(path, content);
  const again = preflight.plan(c);
  t.equal(again.status, 'ok', 'the same fragment already there: nothing to write');
});

t.test('preflight: the fragment goes beside the inventory by default, a relative dir is under it, and the path is printed (#16)', async (t) => {
  const inv = t.testdir();
  const warn = { smbdirect_role: 'server', smbdirect_kernel_policy: 'warn', inventory_dir: inv };
  const plan = (vars: Vars) => {
    const c = ctx('debian12', vars);
    delete c.vars.smbdirect_fragment_dir;
    Object.assign(c.vars, vars);
    return preflight.plan(c);
  };
  const byDefault = plan(warn);
  const path = `${inv}/smbdirect-kconfig/h1-6.1.0-41-amd64.config`;
  t.same(changes(byDefault).map((c) => 'path' in c && c.path), [path], 'not the working directory: <inventory dir>/smbdirect-kconfig');
  t.match(byDefault.status === 'change' ? byDefault.msg : '', `kernel config fragment written to ${path}`, 'the result names the path');
  t.same(changes(plan({ ...warn, smbdirect_fragment_dir: 'kconf' })).map((c) => 'path' in c && c.path), [`${inv}/kconf/h1-6.1.0-41-amd64.config`], 'relative: under the inventory dir');
});

t.test('preflight: Ubuntu 24.04 server passes, its client lacks CIFS_SMB_DIRECT', async (t) => {
  const server = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'server', smbdirect_rdma_mode: 'hardware' }));
  t.equal(server.status, 'ok', server.msg ?? '');
  t.match(server.msg, /CONFIG_SMB_SERVER_SMBDIRECT=y/);
  const client = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'client', smbdirect_rdma_mode: 'hardware' }));
  t.equal(client.status, 'fail');
  t.match(client.msg, /CONFIG_CIFS_SMB_DIRECT is not set/);
  t.notMatch(client.msg, /CONFIG_SMB_SERVER/);
  const siw = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'client', smbdirect_kernel_policy: 'warn' }));
  t.match(text(siw), /CONFIG_RDMA_SIW is m, siw\.ko not installed: .*install linux-modules-extra-6\.8\.0-51-generic/);
  t.notMatch((changes(siw)[0] as { content?: string })?.content ?? '', /RDMA_SIW/, 'a missing package is not a kernel option');
});

t.test('preflight: RHEL 9 server fails on SMB_SERVER; its client passes', async (t) => {
  const server = preflight.plan(ctx('rhel9', { smbdirect_role: 'server' }));
  t.equal(server.status, 'fail');
  t.match(server.msg, /CONFIG_SMB_SERVER is not in this kernel: this host cannot serve SMB at all/);
  t.equal(preflight.plan(ctx('rhel9', { smbdirect_role: 'client' })).status, 'ok');
});

t.test('preflight refuses iWARP mixed with IB/RoCE on a server, whatever the policy', async (t) => {
  const addSiw = (sys: SystemFacts) => sys.rdma.devices.push({ name: 'siw0', port: 1, nodeType: 'iwarp', linkLayer: 'Ethernet', netdev: 'eno1', state: 'ACTIVE', physicalState: 'LINK_UP' });
  const p = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'server', smbdirect_rdma_mode: 'hardware', smbdirect_kernel_policy: 'warn' }, addSiw));
  t.equal(p.status, 'fail');
  t.match(p.msg, /iWARP: siw0; IB\/RoCE: mlx5_0, mlx5_1\): kernel 6\.8\.0-51-generic has one RDMA listener, on 5445 when an iWARP device existed at ksmbd's start, else on 445, so its one listener is on 5445/);
  const newKernel = (sys: SystemFacts) => { addSiw(sys); Object.assign(sys.kernel, { release: '7.3.4+deb13-amd64', major: 7, minor: 3 }); };
  t.notMatch(preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'server', smbdirect_rdma_mode: 'hardware', smbdirect_kernel_policy: 'warn' }, newKernel)).msg, /refusing/, 'a 7.x kernel listens per device type: mixing is served');
  const planned = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'server', smbdirect_rdma_mode: 'siw', smbdirect_kernel_policy: 'warn' }));
  t.match(planned.msg, /siw0 \(smbdirect_rdma_mode siw would create it\)/, 'the link this play would create counts');
  t.equal(preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'client', smbdirect_rdma_mode: 'hardware' }, addSiw)).msg?.includes('iWARP'), false, 'clients may mix');
});

t.test('preflight: kernel too old, build-modules and Secure Boot', async (t) => {
  const old = preflight.plan(ctx('debian12', { smbdirect_role: 'client', smbdirect_rdma_mode: 'rxe' }, (sys) => Object.assign(sys.kernel, { release: '5.10.0-28-amd64', major: 5, minor: 10 })));
  t.match(old.msg, /kernel 5\.10\.0-28-amd64 is older than 5\.15/);
  const sb = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'client', smbdirect_rdma_mode: 'hardware', smbdirect_kernel_policy: 'build-modules' }));
  t.match(sb.msg, /build-modules cannot work here: Secure Boot is on \(mokutil\), kernel lockdown is integrity, module signatures are enforced/);
  const notYet = preflight.plan(ctx('debian12', { smbdirect_role: 'client', smbdirect_rdma_mode: 'rxe', smbdirect_kernel_policy: 'build-modules' }));
  t.equal(notYet.status, 'fail');
  t.match(notYet.msg, /build-modules comes with the kernel remedy/);
  const built = preflight.plan(ctx('debian12', { smbdirect_role: 'client', smbdirect_rdma_mode: 'rxe', smbdirect_kernel_policy: 'build-modules', smbdirect_modules_built: true }));
  t.equal(built.status, 'change');
  t.match(built.warnings?.join('\n'), /going on \(smbdirect_modules_built\)/);
});

t.test('preflight: ksmbd-tools too old where packages cannot upgrade it; old config path noted', async (t) => {
  const noble = (v: string) => (sys: SystemFacts) => { sys.packages.installed['ksmbd-tools'] = v; };
  const p = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'server', smbdirect_rdma_mode: 'hardware' }, noble('3.5.1-1')));
  t.equal(p.status, 'fail');
  t.match(p.msg, /ksmbd-tools 3\.5\.1 is too old for kernel 6\.8\.0-51-generic \(payload_sz\).*install >= 3\.5\.2 \(Debian 12: bookworm-backports\)/);
  const warn = preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'server', smbdirect_rdma_mode: 'hardware', smbdirect_kernel_policy: 'warn' }, noble('3.4.4-1')));
  t.equal(warn.status, 'ok');
  t.match(warn.warnings?.join('\n'), /ksmbd-tools 3\.4\.4 reads \/etc\/ksmbd\/smb\.conf .* no reload/);
});

t.test('kernelGate: warn skips with the reason; fail fails; narrowed to some symbols', async (t) => {
  const warn = kernelGate(ctx('debian12', { smbdirect_role: 'server', smbdirect_kernel_policy: 'warn' }), 'server');
  t.same(warn, { proceed: false, plan: { status: 'skip', msg: 'kernel lacks CONFIG_SMB_SERVER_SMBDIRECT (not set), CONFIG_RDMA_SIW (not set); smbdirect_kernel_policy=warn stages configuration only' } });
  const fail = kernelGate(ctx('debian12', { smbdirect_role: 'server' }), 'server');
  t.equal(!fail.proceed && fail.plan.status, 'fail');
  t.same(kernelGate(ctx('debian12', { smbdirect_role: 'server', smbdirect_rdma_mode: 'rxe' }), 'server', ['INFINIBAND', 'RDMA_RXE']), { proceed: true });
  t.same(kernelGate(ctx('rhel9', { smbdirect_role: 'client' }), 'client'), { proceed: true });
});

t.test('the RDMA netdev: set, from ansible_host, from the default route, never lo', async (t) => {
  const sys = sysOf('debian12');
  t.same(rdmaNetdev({ ansible_host: '10.0.0.11' }, sys), { netdev: 'ens18', how: 'the interface carrying ansible_host 10.0.0.11' });
  t.match(rdmaNetdev({ ansible_host: '127.0.0.1' }, sys), { netdev: 'ens18', how: /default route.*127\.0\.0\.1 is a loopback address/ });
  t.match(rdmaNetdev({ smbdirect_rdma_netdev: 'lo' }, sys), { error: /smbdirect_rdma_netdev is lo: RDMA cannot use the loopback interface.*ens18 10\.0\.0\.11\/24/ });
  t.match(rdmaNetdev({ smbdirect_rdma_netdev: 'eth9' }, sys), { error: /"eth9" is not an interface of this host/ });
  const noRoute = sysOf('debian12', (s) => { s.net.defaultRoute4 = null; });
  t.match(rdmaNetdev({ ansible_host: '127.0.0.1' }, noRoute), { error: /ansible_host 127\.0\.0\.1 is a loopback address and there is no default route.*set smbdirect_rdma_netdev/ });
  // a host named by an ssh_config alias: no ansible_host, the address SSH reached it at (the runner's smbdirect_ssh_address)
  t.same(rdmaNetdev({ smbdirect_ssh_address: '10.0.0.11' }, noRoute), { netdev: 'ens18', how: 'the interface carrying the SSH address (ssh_config HostName) 10.0.0.11' });
  t.same(rdmaNetdev({ ansible_host: '10.0.0.11', smbdirect_ssh_address: '10.9.9.9' }, noRoute), { netdev: 'ens18', how: 'the interface carrying ansible_host 10.0.0.11' }, 'ansible_host first');
  t.match(rdmaNetdev({ smbdirect_ssh_address: 'storage1.example' }, noRoute), { error: /ansible_host is not set and there is no default route/ }, 'a name is not an address');
});

t.test('packages: Debian 12 server with ksmbd-tools 3.4.7 gets 3.5.2 from bookworm-backports', async (t) => {
  const p = packages.plan(ctx('debian12', { smbdirect_role: 'server' }));
  t.same(changes(p), [{ kind: 'packages', manager: 'apt', names: ['ksmbd-tools'], release: 'bookworm-backports' }]);
  t.match(p.status === 'change' && p.msg, /ksmbd-tools from bookworm-backports \(3\.4\.7-1 installed, >= 3\.5\.2 needed\)/);
  const noSource = packages.plan(ctx('debian12', { smbdirect_role: 'server' }, (s) => { s.packages.aptBackports = []; }));
  const [file, pkg] = changes(noSource);
  t.match(file, { kind: 'file', path: BACKPORTS_LIST, content: /^deb http:\/\/deb\.debian\.org\/debian bookworm-backports main$/m });
  t.match(pkg, { kind: 'packages', release: 'bookworm-backports', names: ['ksmbd-tools'] });
  const running = packages.plan(ctx('debian12', { smbdirect_role: 'server' }, (s) => { s.services.ksmbdRunning = true; }));
  t.same(changes(running)[0]?.notify, ['restart ksmbd']);
});

t.test('packages: nothing missing is ok; dnf servers fail clearly; per manager', async (t) => {
  const chroot = packages.plan(ctx('debian12-chroot', { smbdirect_role: 'server' }));
  t.equal(chroot.status, 'ok');
  t.match(chroot.msg, /all present \(ksmbd-tools 3\.5\.2-2~bpo12\+1, rdma-core 44\.0-2/);
  t.match(packages.plan(ctx('rhel9', { smbdirect_role: 'client' })), { status: 'ok', msg: /cifs-utils 7\.0-5\.el9, rdma-core 51\.0-1\.el9, iproute/ });
  const dnfServer = packages.plan(ctx('rhel9', { smbdirect_role: 'server' }));
  t.match(dnfServer, { status: 'fail', msg: /Red Hat Enterprise Linux 9\.5 \(Plow\) cannot be an SMB Direct server: it packages no ksmbd-tools/ });
  const ubuntu = packages.plan(ctx('ubuntu2404', { smbdirect_role: 'client' }));
  t.same(changes(ubuntu), [{ kind: 'packages', manager: 'apt', names: ['cifs-utils', 'rdma-core', 'ibverbs-utils', 'rdmacm-utils', 'linux-modules-extra-6.8.0-51-generic'] }]);
  const suse = packages.plan(ctx('rhel9', { smbdirect_role: 'server' }, (s) => { s.distro.packageManager = 'zypper'; s.packages.installed = { 'rdma-core': '1' }; }));
  t.same(changes(suse), [{ kind: 'packages', manager: 'zypper', names: ['ksmbd-tools', 'iproute2'] }]);
  const noKmod = packages.plan(ctx('debian12-chroot', { smbdirect_role: 'server' }, (s) => { s.modules.modinfo = false; }));
  t.same(changes(noKmod), [{ kind: 'packages', manager: 'apt', names: ['kmod'] }]);
  t.match(packages.plan(ctx('debian12', { smbdirect_role: 'client' }, (s) => { s.distro.packageManager = null; })), { status: 'fail', msg: /no known package manager/ });
});

t.test('a missing or wrong smbdirect_role is a clear error', async (t) => {
  t.throws(() => preflight.plan(ctx('debian12', {})), /smbdirect_role is not set: the play sets it/);
  t.throws(() => packages.plan(ctx('debian12', { smbdirect_role: 'srv' })), /smbdirect_role = "srv" is neither server nor client/);
  t.throws(() => preflight.plan(ctx('debian12', { smbdirect_role: 'server', smbdirect_kernel_policy: 'maybe' })), /smbdirect_kernel_policy = "maybe": must be one of fail, warn, build-modules/);
});

const seven = (sys: SystemFacts) => { Object.assign(sys.kernel, { release: '7.3.4+deb13-amd64', major: 7, minor: 3 }); sys.kconfig.symbols.SMBDIRECT = 'not set'; };

t.test('7.1+: smbdirect.ko (CONFIG_SMBDIRECT) is needed too, on both sides', async (t) => {
  const server = kernelSupport(sysOf('debian12', seven), 'server', 'siw');
  t.same(server.missing.map((m) => m.symbol), ['SMBDIRECT', 'SMB_SERVER_SMBDIRECT', 'RDMA_SIW']);
  t.equal(server.missing[0]!.fix, 'build the kernel, or just smbdirect.ko, with CONFIG_SMBDIRECT=m');
  t.match(server.missing[0]!.meaning, /^CONFIG_SMBDIRECT is not set: from 7\.1 the RDMA code of cifs and ksmbd is its own module, smbdirect\.ko/);
  t.notOk(kernelSupport(sysOf('debian12'), 'client', 'rxe').missing.some((m) => m.symbol === 'SMBDIRECT'), 'not before 7.1');
  const evidence = kernelSupport(sysOf('debian12', (sys) => {
    seven(sys);
    sys.kconfig.source = null;
    for (const k of Object.keys(sys.kconfig.symbols)) (sys.kconfig.symbols as Record<string, string>)[k] = 'unknown';
    sys.modules.modules.cifs.depends = ['smbdirect', 'netfs'];
    sys.modules.modules.smbdirect = { available: true, builtin: false, path: '/lib/modules/7.3.4+deb13-amd64/kernel/fs/smb/smbdirect/smbdirect.ko.xz', depends: ['rdma_cm', 'ib_core'], loaded: true };
  }), 'client', 'rxe');
  t.same(evidence.missing, [], 'modinfo: cifs depends on smbdirect, smbdirect is there');
  t.match(evidence.notes.join('\n'), /CONFIG_CIFS_SMB_DIRECT: modinfo cifs: depends on smbdirect,netfs/);
});

t.test('preflight names what the distribution builds and the exact remedy for this host', async (t) => {
  t.match(preflight.plan(ctx('debian12', { smbdirect_role: 'client' })).msg, /; Debian 12 kernels \(trixie-backports 7\.x included\) build neither side of SMB Direct: run with -e smbdirect_kernel_policy=build-modules, which rebuilds cifs\.ko, siw\.ko for exactly kernel 6\.1\.0-41-amd64/);
  const server7 = preflight.plan(ctx('debian12', { smbdirect_role: 'server' }, seven));
  t.match(server7.msg, /which rebuilds smbdirect\.ko, ksmbd\.ko, siw\.ko for exactly kernel 7\.3\.4\+deb13-amd64/);
  t.match(server7.report, /^ {2}remedy {3}Debian 12 kernels/m);
  t.match(preflight.plan(ctx('ubuntu2404', { smbdirect_role: 'client', smbdirect_rdma_mode: 'hardware' })).msg, /Ubuntu 24\.04 kernels build the server side only \(SMB_SERVER_SMBDIRECT=y, CIFS_SMB_DIRECT not set; siw is in linux-modules-extra-6\.8\.0-51-generic\): boot a kernel built with CONFIG_CIFS_SMB_DIRECT=y \(build-modules supports Debian kernels only\)/);
  t.match(preflight.plan(ctx('rhel9', { smbdirect_role: 'server' })).msg, /kernels build the client side only \(CIFS_SMB_DIRECT=y\) and no ksmbd: boot a kernel built with CONFIG_SMB_SERVER=m, CONFIG_SMB_SERVER_SMBDIRECT=y \(build-modules supports Debian kernels only\)/);
  const suse = preflight.plan(ctx('debian12', { smbdirect_role: 'client' }, (sys) => Object.assign(sys.distro, { id: 'opensuse-leap', pretty: 'openSUSE Leap 15.6' })));
  t.match(suse.msg, /openSUSE Leap 15\.6 kernels build ksmbd and cifs without SMB Direct on either side: boot a kernel built with CONFIG_CIFS_SMB_DIRECT=y, CONFIG_RDMA_SIW=m/);
  const warn = preflight.plan(ctx('debian12', { smbdirect_role: 'client', smbdirect_kernel_policy: 'warn' }));
  t.match(warn.warnings?.join('\n'), /build-modules, which rebuilds cifs\.ko, siw\.ko/);
  t.notMatch(preflight.plan(ctx('rhel9', { smbdirect_role: 'client' })).msg, /build-modules/, 'nothing missing: no remedy');
});
