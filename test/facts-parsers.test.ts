// Each fact's parser on real-format output: the profile fixtures (Debian 12, Ubuntu 24.04,
// RHEL 9), the real captures (this machine, a Debian 12 chroot), and small inline cases.
import t from 'tap';
import { Sections, type Fact } from '../src/facts/fact.js';
import { systemOf, netdevForAddress, kernelAtLeast, kconfigEnabled, dependsOnRdma, type SystemFacts } from '../src/facts/index.js';
import { kernel } from '../src/facts/kernel.js';
import { kconfig } from '../src/facts/kconfig.js';
import { evidence } from '../src/facts/evidence.js';
import { modules } from '../src/facts/modules.js';
import { security } from '../src/facts/security.js';
import { rdma } from '../src/facts/rdma.js';
import { net } from '../src/facts/net.js';
import { distro } from '../src/facts/distro.js';
import { packages } from '../src/facts/packages.js';
import { services } from '../src/facts/services.js';
import { ports } from '../src/facts/ports.js';
import { mounts } from '../src/facts/mounts.js';
import { dmesg } from '../src/facts/dmesg.js';
import { firewall } from '../src/facts/firewall.js';
import { host } from '../src/facts/host.js';
import { FIXTURE_NAMES, loadFixtureFacts, type FixtureName } from './fixtures/facts/index.js';

const ALL: Array<Fact<unknown>> = [kernel, kconfig, evidence, modules, security, rdma, net, distro, packages, services, ports, mounts, dmesg, firewall, host];
const sys = (name: FixtureName): SystemFacts => systemOf(loadFixtureFacts(name));
const sections = (entries: Record<string, string>): Sections => new Sections(new Map(Object.entries(entries)));

t.test('every fixture parses into every system fact', async (t) => {
  for (const name of FIXTURE_NAMES) {
    const s = sys(name);
    t.same(Object.keys(s).sort(), ALL.map((f) => f.name).sort(), name);
  }
});

t.test('parsers never throw on missing or garbage sections', async (t) => {
  for (const f of ALL) {
    t.doesNotThrow(() => f.parse(sections({})), `${f.name}: empty`);
    const junk: Record<string, string> = {};
    for (const k of ['kernel', 'kconfig', 'evidence', 'modules', 'security', 'rdma.links', 'rdma.sysfs', 'net.addr', 'net.route4', 'packages', 'services', 'ports', 'mounts', 'dmesg', 'firewall', 'host']) junk[k] = '{[\t\x00 garbage\n\n)]} 1 2 3\n';
    t.doesNotThrow(() => f.parse(sections(junk)), `${f.name}: garbage`);
  }
});

t.test('fixture files: reads come back', async (t) => {
  const f = loadFixtureFacts('rhel9');
  t.same(f.files['/etc/ksmbd/ksmbd.conf'], { path: '/etc/ksmbd/ksmbd.conf', exists: false });
  t.match(f.files['/etc/fstab'], { exists: true, isDir: false, mode: '0644', owner: 'root', group: 'root' });
  t.match(f.files['/etc/fstab']!.content, /^\/\/10\.0\.0\.11\/share \/mnt\/share cifs vers=3\.1\.1,rdma,/m);
  t.equal(loadFixtureFacts('this-machine').files['/etc/fstab']!.content, '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n');
});

t.test('kernel', async (t) => {
  t.match(sys('debian12').kernel, { release: '6.1.0-41-amd64', major: 6, minor: 1, patch: 0, arch: 'x86_64' });
  t.ok(kernelAtLeast(sys('debian12').kernel, 5, 15));
  const rhel = sys('rhel9').kernel;
  t.match(rhel, { major: 5, minor: 14, patch: 0 });
  t.notOk(kernelAtLeast(rhel, 5, 15), 'RHEL 9 is 5.14: below 5.15');
  t.ok(kernelAtLeast(sys('this-machine').kernel, 6, 18));
  t.match(kernel.parse(sections({ kernel: '5.15\n#1\naarch64\n' })), { major: 5, minor: 15, patch: 0 });
  const bad = kernel.parse(sections({ kernel: 'weird\n' }));
  t.match(bad, { major: null, minor: null, patch: null });
  t.notOk(kernelAtLeast(bad, 5, 15));
});

t.test('kconfig', async (t) => {
  const deb = sys('debian12').kconfig;
  t.equal(deb.source, '/boot/config-6.1.0-41-amd64');
  t.match(deb.symbols, { CIFS: 'm', CIFS_SMB_DIRECT: 'not set', SMB_SERVER: 'm', SMB_SERVER_SMBDIRECT: 'not set', RDMA_SIW: 'not set', RDMA_RXE: 'm', MODULE_SIG_FORCE: 'not set' });
  t.match(sys('ubuntu2404').kconfig.symbols, { SMB_SERVER_SMBDIRECT: 'y', CIFS_SMB_DIRECT: 'not set', RDMA_SIW: 'm' });
  const rhel = sys('rhel9').kconfig;
  t.match(rhel.symbols, { CIFS_SMB_DIRECT: 'y', SMB_SERVER: 'absent', SMB_SERVER_SMBDIRECT: 'absent' });
  t.ok(kconfigEnabled(rhel, 'CIFS_SMB_DIRECT'));
  t.notOk(kconfigEnabled(rhel, 'SMB_SERVER'));
  const here = sys('this-machine').kconfig;
  t.equal(here.source, '/proc/config.gz', 'real capture: no /boot/config, IKCONFIG_PROC');
  t.match(here.symbols, { INFINIBAND: 'not set', SECURITY_LOCKDOWN_LSM: 'y', CIFS: 'absent' });
  const none = sys('debian12-chroot').kconfig;
  t.equal(none.source, null);
  t.equal(none.symbols.CIFS, 'unknown', 'no config: unknown, not absent');
});

t.test('SMB Direct evidence from /proc/fs/cifs', async (t) => {
  t.match(sys('rhel9').evidence, { debugData: true, version: '2.40', smbDirect: true });
  t.ok(sys('rhel9').evidence.features.includes('SMB_DIRECT'));
  t.equal(sys('rhel9').evidence.connections.length, 2);
  t.equal(sys('debian12').evidence.smbDirect, null, 'cifs not loaded: unknown');
  const without = evidence.parse(sections({ evidence: 'debugdata yes\nCIFS Version 2.40\nFeatures: DFS,FSCACHE,STATS,DEBUG,ALLOW_INSECURE_LEGACY,CIFS_POSIX,UPCALL(SPNEGO),XATTR,ACL\n' }));
  t.equal(without.smbDirect, false);
  t.same(without.features.slice(0, 3), ['DFS', 'FSCACHE', 'STATS']);
});

t.test('modules', async (t) => {
  const deb = sys('debian12').modules;
  t.equal(deb.modinfo, true);
  t.match(deb.modules.ksmbd, { available: true, loaded: true, builtin: false, depends: ['cifs_arc4'] });
  t.match(deb.modules.siw, { available: false, path: null, loaded: false });
  t.ok(dependsOnRdma(sys('rhel9').modules.modules.cifs), 'RHEL cifs depends on rdma_cm: built with SMB Direct');
  t.notOk(dependsOnRdma(deb.modules.cifs), 'Debian cifs does not');
  t.ok(dependsOnRdma(sys('ubuntu2404').modules.modules.ksmbd), 'Ubuntu ksmbd does');
  t.ok(dependsOnRdma({ ...deb.modules.cifs, depends: ['smbdirect', 'netfs', 'cifs_arc4'] }), '7.1+: cifs depends on smbdirect (modinfo of 7.3.4+deb13-amd64)');
  t.match(sys('this-machine').modules.modules.cifs, { available: false }, 'real capture: no /lib/modules here');
  const builtin = modules.parse(sections({ modules: 'modinfo yes\nmod\tcifs\tno\t(builtin)\t\n' }));
  t.match(builtin.modules.cifs, { available: true, builtin: true });
  t.equal(modules.parse(sections({ modules: '' })).modules.cifs.available, null, 'no modinfo: unknown');
});

t.test('security', async (t) => {
  t.same(sys('ubuntu2404').security, { lockdown: 'integrity', efi: true, secureBoot: true, secureBootSource: 'mokutil', sigEnforce: true });
  t.same(sys('rhel9').security, { lockdown: 'none', efi: false, secureBoot: null, secureBootSource: null, sigEnforce: false });
  t.match(security.parse(sections({ security: 'efi yes\nefivar 1\n' })), { secureBoot: true, secureBootSource: 'efivars' });
});

t.test('rdma devices', async (t) => {
  const u = sys('ubuntu2404').rdma;
  t.equal(u.tool, true);
  t.same(u.devices, [
    { name: 'mlx5_0', port: 1, nodeType: 'roce', linkLayer: 'Ethernet', netdev: 'enp65s0f0np0', state: 'ACTIVE', physicalState: 'LINK_UP' },
    { name: 'mlx5_1', port: 1, nodeType: 'roce', linkLayer: 'Ethernet', netdev: 'enp65s0f1np1', state: 'DOWN', physicalState: 'DISABLED' },
  ]);
  t.match(sys('rhel9').rdma.devices, [{ name: 'siw0', nodeType: 'iwarp', netdev: 'ens3', state: 'ACTIVE' }]);
  t.same(sys('debian12').rdma, { tool: false, devices: [], cmIds: [] });
  const old = rdma.parse(sections({ 'rdma.links': '[{"ifindex":1,"port":1,"ifname":"rxe0/1","state":"ACTIVE","physical_state":"LINK_UP","netdev":"eth0","netdev_index":2}]' }));
  t.match(old.devices, [{ name: 'rxe0', port: 1, netdev: 'eth0', nodeType: 'unknown' }], 'older iproute2 prints "dev/port"');
  const ib = rdma.parse(sections({ 'rdma.sysfs': 'mlx5_2\t1\t1: CA\tInfiniBand\t4: ACTIVE\t\n' }));
  // `rdma -j resource show cm_id` on the VM lab (iproute2 6.1 and 6.15): a 6.1 server with a
  // listener and a client connection over rxe, then a 6.12 client whose server was killed.
  const server = rdma.parse(sections({ 'rdma.cm_ids': '[{"ifindex":0,"ifname":"rxe0","cm-idn":1,"state":"LISTEN","ps":"TCP","comm":"ksmbd","src-addr":"0.0.0.0:445"},{"ifindex":0,"ifname":"rxe0","port":1,"cm-idn":2,"lqpn":17,"qp-type":"RC","state":"CONNECT","ps":"TCP","comm":"ksmbd","src-addr":"192.168.77.21:445","dst-addr":"192.168.77.22:44204"}]\n' }));
  t.same(server.cmIds, [{ dev: 'rxe0', state: 'LISTEN', comm: 'ksmbd' }, { dev: 'rxe0', state: 'CONNECT', comm: 'ksmbd' }]);
  const dead = rdma.parse(sections({ 'rdma.cm_ids': '[{"ifindex":0,"ifname":"rxe0","port":1,"cm-idn":16,"lqpn":33,"qp-type":"RC","state":"DISCONNECT","ps":"TCP","comm":"cifs","src-addr":"192.168.77.22:46175","dst-addr":"192.168.77.21:445"}\n]\n' }));
  t.same(dead.cmIds, [{ dev: 'rxe0', state: 'DISCONNECT', comm: 'cifs' }], 'a connection to a dead server');
  t.same(rdma.parse(sections({ 'rdma.cm_ids': '[]\n' })).cmIds, [], 'none');
  t.match(ib.devices, [{ name: 'mlx5_2', nodeType: 'ib', netdev: null }]);
});

t.test('net: interfaces, addresses, default route', async (t) => {
  const u = loadFixtureFacts('ubuntu2404');
  t.equal(netdevForAddress(u, '192.168.50.21'), 'enp65s0f0np0');
  t.equal(netdevForAddress(u, '192.168.50.21/24'), 'enp65s0f0np0');
  t.equal(netdevForAddress(u, '192.168.50.99'), undefined);
  t.equal(netdevForAddress({ system: {}, files: {}, probes: {} }, '1.2.3.4'), undefined);
  const n = systemOf(u).net;
  t.same(n.defaultRoute4, { dev: 'eno1', gateway: '10.20.0.1' });
  t.equal(n.defaultRoute6, null);
  t.match(n.netdevs.find((d) => d.name === 'enp65s0f1np1'), { up: true, lowerUp: false, operstate: 'DOWN', addrs: [] });
  const here = sys('this-machine').net;
  t.match(here.netdevs.find((d) => d.name === 'eth0'), { up: true, mac: '02:fc:00:00:00:01', mtu: 1400 });
  t.equal(netdevForAddress(loadFixtureFacts('this-machine'), 'FD00::2'), 'eth0', 'IPv6, any case');
  t.equal(here.defaultRoute6?.gateway, 'fd00::1');
  // The IPv6 fallback as the script now prints it from /proc/net/ipv6_route (network order).
  const v6 = (text: string) => net.parse(sections({ 'net.addr': '[]', 'net.route4': '[]', 'net.route6': text })).defaultRoute6;
  t.same(v6('fd000000000000000000000000000001 eth0\n'), { dev: 'eth0', gateway: 'fd00::1' });
  t.same(v6('fe8000000000000002fc00fffe000001 ib0\n'), { dev: 'ib0', gateway: 'fe80::2fc:ff:fe00:1' });
  t.same(v6('00000000000000000000000000000000 ppp0\n'), { dev: 'ppp0', gateway: null }, 'a route without a gateway');
  t.equal(v6(''), null);
});

t.test('distro', async (t) => {
  t.match(sys('ubuntu2404').distro, { id: 'ubuntu', versionId: '24.04', codename: 'noble', idLike: ['debian'], family: 'debian', packageManager: 'apt' });
  t.match(sys('rhel9').distro, { id: 'rhel', versionId: '9.5', codename: '', family: 'rhel', packageManager: 'dnf', pretty: 'Red Hat Enterprise Linux 9.5 (Plow)' });
  t.match(sys('debian12').distro, { id: 'debian', codename: 'bookworm', family: 'debian' });
  const suse = distro.parse(sections({ distro: 'NAME="openSUSE Leap"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.6"\n' }));
  t.match(suse, { family: 'suse', packageManager: 'zypper' });
  t.match(distro.parse(sections({ distro: 'ID=alpine\n' })), { family: 'unknown', packageManager: null });
});

t.test('packages and ksmbd-tools versions', async (t) => {
  const deb = sys('debian12').packages;
  t.equal(deb.tool, 'dpkg');
  t.equal(deb.installed['ksmbd-tools'], '3.4.7-1');
  t.equal(deb.installed['cifs-utils'], '2:7.0-2');
  t.equal(deb.ksmbdToolsVersion, '3.4.7');
  t.equal(deb.ksmbdModuleVersion, '3.4.2');
  t.same(deb.aptBackports, ['bookworm-backports']);
  const chroot = sys('debian12-chroot').packages;
  t.equal(chroot.installed['ksmbd-tools'], '3.5.2-2~bpo12+1', 'real capture');
  t.equal(chroot.ksmbdToolsVersion, '3.5.2', 'real 3.5.x "[ksmbd.mountd/PID]: INFO: ksmbd-tools version : 3.5.2"');
  const ub = sys('ubuntu2404').packages;
  t.equal(ub.installed['ksmbd-tools'], undefined, 'deinstall ok config-files is not installed');
  t.same(ub.aptBackports, ['noble-backports']);
  const rh = sys('rhel9').packages;
  t.equal(rh.tool, 'rpm');
  t.equal(rh.installed.iproute, '6.2.0-6.el9_4');
  t.same(Object.keys(rh.installed).sort(), ['cifs-utils', 'iproute', 'libibverbs-utils', 'librdmacm-utils', 'rdma-core']);
  t.equal(packages.parse(sections({})).tool, null);
});

t.test('services and ksmbd processes', async (t) => {
  t.same(sys('debian12').services.units, [{ name: 'ksmbd.service', enabled: 'enabled', active: 'failed' }]);
  t.same(sys('rhel9').services.units, [
    { name: 'ksmbd.service', enabled: null, active: 'inactive' },
    { name: 'smbdirect-rdma-siw0.service', enabled: 'enabled', active: 'active' },
  ]);
  const chroot = sys('debian12-chroot').services;
  t.equal(chroot.systemdRunning, false);
  t.same(chroot.units, [{ name: 'ksmbd.service', enabled: 'enabled', active: null }], 'real capture: enabled works offline');
  const procs = services.parse(sections({ services: 'systemd yes\nbtime 1000\nhz 100\nproc\t812\tksmbd.mountd\t250\nproc\t813\tksmbd.mountd\t251\nproc\t820\tksmbd-eth0\t300\nproc\t900\tksmbd:r5445\t\n' }));
  t.same(procs.ksmbdProcesses[0], { pid: 812, comm: 'ksmbd.mountd', startedAt: 1003 });
  t.equal(procs.ksmbdProcesses[3]!.startedAt, null);
  t.equal(procs.ksmbdRunning, true);
  t.equal(services.parse(sections({ services: 'proc\t1\tksmbdx\t5\n' })).ksmbdRunning, false);
});

t.test('listening ports', async (t) => {
  const u = sys('ubuntu2404').ports;
  t.same(u.tcp, [22, 53]);
  t.same(u.udp, [53]);
  t.ok(u.listeners.some((l) => l.address === '127.0.0.53%lo' && l.port === 53));
  t.same(sys('this-machine').ports.tcp, [2024], 'real capture');
  // Real /proc/net/tcp lines from this machine (LISTEN, then an ESTABLISHED one), plus udp.
  const proc = ports.parse(sections({ ports: `tool proc
tcp   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1059 1 0000000027cd75c0 100 0 0 10 0
tcp   1: 020200C0:8B7A 507100CB:0050 06 00000000:00000000 03:0000137E 00000000     0        0 0 3 00000000a5ec7204
tcp6   0: 00000000000000000000000000000000:01BD 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2201 1 0000000000000000 100 0 0 10 0
udp  12: 00000000:12B7 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2 0000000000000000 0
` }));
  t.same(proc.tcp, [445, 2024]);
  t.same(proc.udp, [4791]);
  t.match(proc.listeners[0], { proto: 'tcp', address: '0.0.0.0', port: 2024 });
  t.match(proc.listeners.find((l) => l.port === 445), { proto: 'tcp', address: '[::]' }, 'IPv6 written as ss writes it');
});

t.test('cifs mounts', async (t) => {
  const m = sys('rhel9').mounts;
  t.equal(m.length, 2);
  t.match(m[0], { source: '//10.0.0.11/share', target: '/mnt/share', fstype: 'cifs' });
  t.ok(m[0]!.options.includes('rdma') && m[0]!.options.includes('vers=3.1.1'));
  t.equal(m[1]!.target, '/mnt/team projects', 'octal escapes undone');
  t.same(sys('debian12').mounts, []);
});

t.test('dmesg', async (t) => {
  const d = sys('rhel9').dmesg;
  t.equal(d.readable, true);
  t.same(d.lines[1], { t: 802.245001, text: 'CIFS: VFS: RDMA transport established' });
  t.match(d, { uptime: 9664.73, bootTime: 1780466890, now: 1780476555 });
  const locked = dmesg.parse(sections({ dmesg: 'unreadable\n' }));
  t.match(locked, { readable: false, lines: [] });
  t.match(locked.note, /not readable/);
  t.same(dmesg.parse(sections({ dmesg: 'readable\nno timestamp here\n' })).lines, [{ t: null, text: 'no timestamp here' }]);
});

t.test('firewall', async (t) => {
  t.match(sys('ubuntu2404').firewall, { active: 'ufw', nftRules: 38, ufwRules: ['22/tcp                     ALLOW       Anywhere', '22/tcp (v6)                ALLOW       Anywhere (v6)'] });
  t.match(sys('rhel9').firewall, { active: 'firewalld', firewalld: { zone: 'public', ports: [], services: ['cockpit', 'dhcpv6-client', 'ssh'] } });
  t.equal(sys('debian12').firewall.active, 'none');
  const p = (text: string): string => firewall.parse(sections({ firewall: text })).active;
  t.equal(p('nft 0 1\n'), 'nftables', 'no rules but policy drop');
  t.equal(p('nft 0 0\n'), 'none');
  t.equal(p('nft 0 0\niptables 5\n'), 'iptables');
  t.equal(p('firewalld not running\nufw Status: inactive\n'), 'none');
  t.equal(p('ufw ERROR: You need to be root to run this script\n'), 'unknown');
  t.equal(p('nft error\n'), 'unknown');
});

t.test('host', async (t) => {
  t.match(sys('debian12-chroot').host, { user: 'root', uid: 0, sudo: true, systemd: true, systemdRunning: false, pid1: '' });
  t.match(sys('ubuntu2404').host, { hostname: 'gpu21', systemdRunning: true, pid1: 'systemd' });
  t.match(sys('this-machine').host, { pid1: 'process_api', systemdRunning: false });
});
