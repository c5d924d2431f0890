// The SMB Direct playbooks on the lab (real sshd hosts sharing a kernel without ksmbd/cifs/RDMA):
// with smbdirect_kernel_policy=warn the server and client playbooks stage everything; check mode
// changes nothing; a second run changes nothing; verify says exactly what the kernel lacks;
// teardown returns every host to its starting files; the password shows up nowhere.
import t from 'tap';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson, startLab, tmp } from './helpers/lab.js';
import { stringsIn } from './helpers/json.js';

const PASSWORD = `pa'ss "wo$(rd)\`x\` \\ ünï`; // " and \ as well: JSON escapes them
const lab = await startLab(t, 1, 2);
const dir = tmp('sd-smb-inv-');
copyFileSync(lab.inventory, join(dir, 'hosts.yml'));
mkdirSync(join(dir, 'group_vars'));
writeFileSync(join(dir, 'alice.pw'), `${PASSWORD}\n`, { mode: 0o600 });
writeFileSync(join(dir, 'group_vars', 'all.yml'), `smbdirect_kernel_policy: warn
smbdirect_rdma_mode: siw
smbdirect_fragment_dir: ${dir}/kconfig
ksmbd_users:
  - name: alice
    password_file: alice.pw
`);
writeFileSync(join(dir, 'group_vars', 'smb_servers.yml'), `ksmbd_shares:
  - name: data
    path: /srv/smb/data
    mode: "0775"
    owner: "1000"
    group: "1000"
  - name: "scratch ünï"
    path: "/srv/smb/scratch space"
ksmbd_global:
  smb3 encryption: disabled
`);
writeFileSync(join(dir, 'group_vars', 'smb_clients.yml'), `smb_mounts:
  - server: srv01
    share: data
    path: /mnt/data
    user: alice
  - server: srv01
    share: "scratch ünï"
    path: "/mnt/scratch space"
    user: alice
`);
const inv = join(dir, 'hosts.yml');
const hosts = ['srv01', 'cli01', 'cli02'];

/** Files the playbooks may touch, as seen from the controller through each host's root. */
const WATCHED = ['etc/ksmbd/ksmbd.conf', 'etc/ksmbd/ksmbdpwd.db', 'etc/fstab', 'etc/systemd/system/smbdirect-rdma-siw0.service',
  'etc/modules-load.d/smbdirect-rdma.conf', 'etc/systemd/system/multi-user.target.wants/smbdirect-rdma-siw0.service',
  'etc/systemd/system/multi-user.target.wants/ksmbd.service', 'etc/smbdirect-provision/credentials', 'mnt/data'];
function snapshot(h: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of WATCHED) {
    const p = join(lab.root(h), f);
    if (!existsSync(p) && !isLink(p)) out[f] = 'absent';
    else if (isLink(p)) out[f] = `link -> ${readlinkSync(p)}`;
    else if (statSync(p).isDirectory()) out[f] = 'dir';
    else out[f] = readFileSync(p, 'utf8');
  }
  return out;
}
function isLink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}
const before = Object.fromEntries(hosts.map((h) => [h, snapshot(h)]));

t.test('check mode changes nothing on any host', async (t) => {
  for (const pb of ['server', 'client']) {
    const r = await runJson(['run', pb, '-i', inv, '--check']);
    t.equal(r.code, 0, `${pb} --check exit code`);
    t.ok(Object.values(r.recap).every((s) => (s.changed ?? 0) > 0), `${pb}: changes are reported`);
  }
  for (const h of hosts) t.same(snapshot(h), before[h], `${h} untouched`);
});

t.test('server and client playbooks stage the whole configuration', async (t) => {
  const s = await runCli(['run', 'server', '-i', inv, '-vvv', '--diff']);
  t.equal(s.code, 0, s.stdout.slice(-3000));
  const c = await runCli(['run', 'client', '-i', inv, '-vvv', '--diff']);
  t.equal(c.code, 0, c.stdout.slice(-3000));
  for (const out of [s.stdout, s.stderr, c.stdout, c.stderr]) t.notOk(out.includes(PASSWORD) || out.includes('ünï`'), 'no password in output');
  const srv = lab.root('srv01');
  const conf = readFileSync(join(srv, 'etc/ksmbd/ksmbd.conf'), 'utf8');
  t.match(conf, /server multi channel support = yes/);
  t.match(conf, /\[scratch ünï\]\n/);
  t.match(conf, /path = \/srv\/smb\/scratch space\n/);
  t.equal(statSync(join(srv, 'etc/ksmbd/ksmbdpwd.db')).mode & 0o777, 0o600);
  t.match(readFileSync(join(srv, 'etc/ksmbd/ksmbdpwd.db'), 'utf8'), /^alice:[A-Za-z0-9+/]{22}==$/m);
  t.ok(statSync(join(srv, 'srv/smb/scratch space')).isDirectory());
  t.equal(statSync(join(srv, 'srv/smb/data')).mode & 0o777, 0o775);
  t.same([statSync(join(srv, 'srv/smb/data')).uid, statSync(join(srv, 'srv/smb/data')).gid], [1000, 1000], 'numeric owner and group');
  t.match(readFileSync(join(srv, 'etc/systemd/system/smbdirect-rdma-siw0.service'), 'utf8'), /Before=.*ksmbd\.service/);
  for (const h of ['cli01', 'cli02']) {
    const fstab = readFileSync(join(lab.root(h), 'etc/fstab'), 'utf8');
    t.match(fstab, /^\/\/10\.\d+\.\d+\.\d+\/data \/mnt\/data cifs vers=3\.1\.1,rdma,credentials=\S+,_netdev,nofail 0 0$/m);
    t.match(fstab, /\/mnt\/scratch\\040space cifs/);
    const cred = join(lab.root(h), 'etc/smbdirect-provision/credentials/srv01@alice');
    t.equal(statSync(cred).mode & 0o777, 0o600);
    t.equal(readFileSync(cred, 'utf8'), `username=alice\npassword=${PASSWORD}\n`);
    t.ok(statSync(join(lab.root(h), 'mnt/scratch space')).isDirectory());
  }
});

t.test('a second run reports zero changes', async (t) => {
  for (const pb of ['server', 'client']) {
    const r = await runJson(['run', pb, '-i', inv]);
    t.equal(r.code, 0);
    for (const [h, s] of Object.entries(r.recap)) t.equal(s.changed, 0, `${pb} on ${h}: zero changes`);
    t.same(stringsIn(r.lines).filter((v) => v.includes(PASSWORD)), [], 'no password in any decoded JSON value');
    t.notOk(r.stderr.includes(PASSWORD), 'no password on stderr');
  }
});

t.test('verify says exactly what these hosts lack', async (t) => {
  const r = await runCli(['run', 'verify', '-i', inv]);
  t.equal(r.code, 2);
  t.match(r.stdout, /\bCONFIG_SMB_SERVER\b/);
  t.match(r.stdout, /\bCONFIG_CIFS\b/);
  t.match(r.stdout, /FAIL/);
});

t.test('teardown returns every host to its starting files; a second teardown changes nothing', async (t) => {
  const r = await runJson(['run', 'teardown', '-i', inv]);
  t.equal(r.code, 0);
  for (const h of hosts) t.same(snapshot(h), before[h], `${h} back to its starting files`);
  const again = await runJson(['run', 'teardown', '-i', inv]);
  t.equal(again.code, 0);
  for (const [h, s] of Object.entries(again.recap)) t.equal(s.changed, 0, `${h}: second teardown changes nothing`);
});
