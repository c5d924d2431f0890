import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterContext } from '../src/smb/cluster.js';
import { CREDENTIALS_DIR } from '../src/smb/credentials.js';
import { DAEMON_RELOAD } from '../src/smb/handlers.js';
import type { Change, FileChange, Vars } from '../src/types.js';
import cifsCredentials from '../tasks/smbdirect/cifs-credentials.js';
import cifsMount, { FSTAB, MOUNT_BOUND_S, mountCommand, ourFstabTargets } from '../tasks/smbdirect/cifs-mount.js';
import mountPoints from '../tasks/smbdirect/mount-points.js';
import validate from '../tasks/smbdirect/validate.js';
import { CLUSTER, converge, factsFor, kinds, plan, sys, visibleText } from './helpers/smb-plan.js';

const PW = `cl1ent "pw" $(halt) 'x',y`;
process.env.SMBT_CLIENT_PW = PW;

const vars = (extra: Vars = {}): Vars => ({
  smbdirect_role: 'client',
  smbdirect_cluster: CLUSTER,
  ksmbd_users: [{ name: 'alice', password_env: 'SMBT_CLIENT_PW' }],
  smb_mounts: [
    { server: 'srv1', share: 'share', path: '/mnt/share', user: 'alice' },
    { server: 'srv1', share: 'projects', path: '/mnt/team projects', user: 'alice' },
    { server: 'srv1', share: 'data', path: '/mnt/data', user: 'alice', options: ['cache=none'] },
  ],
  ...extra,
});
const TASKS = [validate, cifsCredentials, mountPoints, cifsMount];
const CRED = `${CREDENTIALS_DIR}/srv1@alice`;
// The boot-retry unit and one drop-in per mount unit (src/smb/boot-retry.ts), with the fstab.
const RETRY_FILES = ['file /etc/systemd/system/smbdirect-remount@.service', 'file /etc/systemd/system/mnt-share.mount.d/smbdirect-retry.conf',
  'file /etc/systemd/system/mnt-team\\x20projects.mount.d/smbdirect-retry.conf', 'file /etc/systemd/system/mnt-data.mount.d/smbdirect-retry.conf'];

t.test('clusterContext reads the runner\'s smbdirect_cluster', async (t) => {
  t.same(clusterContext({}), { given: false, servers: {} });
  t.same(clusterContext({ smbdirect_cluster: CLUSTER }).servers.srv1, CLUSTER.servers.srv1);
  t.throws(() => clusterContext({ smbdirect_cluster: { servers: { s: {} } } }), /servers\.s has no address/);
});

t.test('RHEL 9 client (SMB Direct kernel, two rdma mounts live): credentials, fstab, one new mount', async (t) => {
  const v = vars();
  const facts = factsFor('rhel9', TASKS, v, 'cn1');
  const out = plan(TASKS, facts, v, 'cn1');
  t.same(out.map((p) => p.status), ['ok', 'change', 'change', 'change'], out.map((p) => p.msg).join(' | '));
  t.same(kinds(out.flatMap((p) => p.changes)), [
    `dir ${CREDENTIALS_DIR}`, `file ${CRED}`, 'dir /mnt/share', 'dir /mnt/team projects', 'dir /mnt/data', 'file /var/lib/smbdirect-provision/created-mount-points', `file ${FSTAB}`,
    ...RETRY_FILES, 'command: mount /mnt/data',
  ]);
  const cred = out[1]!.changes[1] as FileChange;
  t.same([cred.mode, cred.owner, cred.group, cred.sensitive], ['0600', 'root', 'root', true]);
  t.equal(cred.content, `username=alice\npassword=${PW}\n`);
  t.same(out[1]!.changes[0], { kind: 'dir', path: CREDENTIALS_DIR, mode: '0700', owner: 'root', group: 'root' });
  const fstab = out[3]!.changes[0] as FileChange;
  t.equal(fstab.mode, undefined, 'fstab keeps its mode and owner');
  t.same(fstab.notify, [DAEMON_RELOAD]);
  t.matchSnapshot(fstab.content, 'fstab');
  t.same(ourFstabTargets(fstab.content), ['/mnt/share', '/mnt/team projects', '/mnt/data']);
});

t.test('converged client: nothing to change', async (t) => {
  const v = vars();
  const facts0 = factsFor('rhel9', TASKS, v, 'cn1');
  const facts = converge(facts0, plan(TASKS, facts0, v, 'cn1'));
  sys(facts).mounts.push({ source: '//10.0.0.11/data', target: '/mnt/data', fstype: 'cifs', options: ['rw', 'vers=3.1.1', 'cache=none', 'addr=10.0.0.11', 'rdma', 'upcall_target=app'] });
  facts.files[`${CREDENTIALS_DIR}/`] = { path: `${CREDENTIALS_DIR}/`, exists: true, isDir: true, entries: ['srv1@alice'] };
  const again = plan(TASKS, facts, v, 'cn1');
  t.same(again.map((p) => [p.status, p.changes.length]), [['ok', 0], ['ok', 0], ['ok', 0], ['ok', 0]]);
});

t.test('a live mount without rdma is remounted; credentials of old pairs are removed', async (t) => {
  const v = vars();
  const facts = factsFor('rhel9', [cifsCredentials, cifsMount], v, 'cn1', { [`${CREDENTIALS_DIR}/`]: { isDir: true, entries: ['not ours.txt', 'srv1@alice', 'srv2@bob'] } });
  sys(facts).mounts[0]!.options = sys(facts).mounts[0]!.options.filter((o) => o !== 'rdma');
  const [cred, mount] = plan([cifsCredentials, cifsMount], facts, v, 'cn1');
  t.same(kinds(cred!.changes).slice(-1), [`command: remove unused credentials ${CREDENTIALS_DIR}/srv2@bob`]);
  t.same(kinds(mount!.changes).filter((k) => k.startsWith('command')), ['command: remount /mnt/share', 'command: mount /mnt/data']);
  t.match(mount!.changes.find((c): c is Extract<Change, { kind: 'command' }> => c.kind === 'command' && c.desc === 'remount /mnt/share')?.cmd, /^n=.*\numount \/mnt\/share \|\| exit/);
});

t.test('a mount point that left smb_mounts loses its fstab line (ours only) with a warning if still mounted', async (t) => {
  const v = vars();
  const facts0 = factsFor('rhel9', [cifsMount], v, 'cn1');
  const after = converge(facts0, plan([cifsMount], facts0, v, 'cn1'));
  const fewer = vars({ smb_mounts: [(v.smb_mounts as object[])[2]] });
  const [p] = plan([cifsMount], after, fewer, 'cn1');
  const content = (p!.changes[0] as FileChange).content;
  t.same(ourFstabTargets(content), ['/mnt/data']);
  t.match(content, /\/dev\/mapper\/rhel-root/);
  t.match(p!.warnings.join('\n'), /\/mnt\/share left smb_mounts but is still mounted/);
});

t.test('kernel without CIFS_SMB_DIRECT: policy fail stops, policy warn stages fstab then skips with the reason', async (t) => {
  const facts = factsFor('debian12', [cifsMount], vars(), 'cn1');
  t.equal(plan([cifsMount], facts, vars(), 'cn1')[0]!.status, 'fail');
  const v = vars({ smbdirect_kernel_policy: 'warn' });
  const [staged] = plan([cifsMount], facts, v, 'cn1');
  t.equal(staged!.status, 'change');
  t.same(kinds(staged!.changes), [`file ${FSTAB}`, ...RETRY_FILES], 'no mount command');
  t.match(staged!.warnings.join('\n'), /not mounted now: .*CIFS_SMB_DIRECT/);
  const [skip] = plan([cifsMount], converge(facts, [staged!]), v, 'cn1');
  t.equal(skip!.status, 'skip');
  t.match(skip!.msg, /CONFIG_CIFS_SMB_DIRECT.*smbdirect_kernel_policy=warn/);
});

t.test('validate on a client: unknown server/share, a user without password source, no cluster var', async (t) => {
  const v = vars({
    ksmbd_users: [],
    smb_mounts: [{ server: 'srv9', share: 'data', path: '/mnt/a', user: 'alice' }, { server: 'srv1', share: 'nope', path: '/mnt/b', user: 'alice' }],
  });
  const [p] = plan([validate], factsFor('rhel9', [validate], v, 'cn1'), v, 'cn1');
  t.equal(p!.status, 'fail');
  t.match(p!.msg, /smb_mounts\[0\]\.server = "srv9": not a host of group smb_servers/);
  t.match(p!.msg, /smb_mounts\[1\]\.share = "nope": server srv1 has no such share/);
  const ok = vars({ ksmbd_users: [] });
  const [q] = plan([validate], factsFor('rhel9', [validate], ok, 'cn1'), ok, 'cn1');
  t.match(q!.msg, /smb_mounts user alice is not in this host's ksmbd_users/);
  const none = vars({ smbdirect_cluster: undefined });
  const [r] = plan([validate], factsFor('rhel9', [validate], none, 'cn1'), none, 'cn1');
  t.match(r!.msg, /smbdirect_cluster is not set/);
});

t.test('seal warns; secrets never leave the credentials file', async (t) => {
  const v = vars({ smb_mounts: [{ server: 'srv1', share: 'data', path: '/mnt/data', user: 'alice', seal: true }] });
  const out = plan(TASKS, factsFor('rhel9', TASKS, v, 'cn1'), v, 'cn1');
  t.match(out[0]!.warnings.join('\n'), /seal disables RDMA/);
  t.match(out[3]!.warnings.join('\n'), /seal disables RDMA/);
  t.notOk(visibleText(out).includes(PW));
  t.notOk(visibleText(out).includes('$(halt)'));
});

t.test('a failed mount prints the kernel lines and a one-line diagnosis', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['mount error(2): No such file or directory', 'CIFS: VFS: CONFIG_CIFS_SMB_DIRECT is not enabled', /no SMB Direct \(CONFIG_CIFS_SMB_DIRECT/],
    ['mount error(2): No such file or directory', 'CIFS: VFS: smbdirect_connect_sync(10.0.0.11:5445) failed with -111', /the server refused the RDMA connection: is ksmbd running/],
    ['mount error(2): No such file or directory', 'CIFS: VFS: smbdirect_connect_sync(10.0.0.11:445) failed -ECONNREFUSED', /the server refused the RDMA connection: .*does the firewall allow TCP 5445 \(iWARP\/siw\)/],
    ['mount error(2): No such file or directory', 'CIFS: VFS: smbdirect_resolve_addr(10.0.0.11) failed -ETIMEDOUT', /the RDMA connection failed: is the server kernel/],
    ['mount error(2): No such file or directory', 'CIFS: VFS: rdma_connect failed port=5445', /the RDMA connection failed/],
    ['mount error(13): Permission denied', 'CIFS: VFS: \\\\10.0.0.11 Send error in SessSetup = -13', /logon refused/],
    ['mount error(2): No such file or directory', 'CIFS: VFS: BAD_NETWORK_NAME: \\\\10.0.0.11\\IPC$', /ksmbd-tools is >= 3\.5\.2/],
    ['mount error(112): Host is down', 'CIFS: something else', /see the mount and kernel messages above/],
  ];
  for (const [mountOut, kernel, want] of cases) {
    const dir = t.testdir({ 'old.log': 'CIFS: VFS: CONFIG_CIFS_SMB_DIRECT is not enabled\nold line\n', 'new.log': `${kernel}\nunrelated\n` });
    const fake = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
    };
    fake('mount', `echo '${mountOut}'; exit 32`);
    fake('umount', 'exit 0');
    fake('dmesg', `if [ -e "${dir}/called" ]; then cat "${dir}/old.log" "${dir}/new.log"; else : > "${dir}/called"; cat "${dir}/old.log"; fi`);
    const r = spawnSync('sh', ['-c', mountCommand('/mnt/team projects')], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
    t.equal(r.status, 32);
    t.match(r.stderr, mountOut);
    t.match(r.stderr, kernel);
    t.notMatch(r.stderr, /old line|unrelated/, 'only new, relevant kernel lines');
    t.match(r.stderr, want);
  }
});

t.test("the mount's diagnosis names the ports of the client's kernel and device type", async (t) => {
  const v = vars();
  const out = plan(TASKS, factsFor('rhel9', TASKS, v, 'cn1'), v, 'cn1');
  const mounts = out.flatMap((p) => p.changes).filter((c) => c.kind === 'command' && /^(re)?mount /.test(c.desc));
  t.ok(mounts.length > 0);
  for (const c of mounts) t.match(c.kind === 'command' && c.cmd, /kernel 5\.14\.0-503\.14\.1\.el9_5\.x86_64 connects over iwarp to port 5445, then 445: does the firewall allow TCP 5445 on the server\?/);
});

t.test('an RDMA address-resolution timeout on the first contact is retried once; other failures are not', async (t) => {
  const cases: Array<[string, number, number]> = [
    // [kernel line after the first try, exit, mount calls]
    ['CIFS: VFS: smbd_create_id:618 rdma_resolve_addr() completed -110', 0, 2],
    ['CIFS: VFS: smbd_create_id:618 rdma_resolve_route() completed -110', 0, 2],
    ['CIFS: VFS: smbdirect_connect_sync(10.0.0.11:5445) failed with -111', 32, 1],
    ['CIFS: VFS: \\\\10.0.0.11 Send error in SessSetup = -13', 32, 1],
  ];
  for (const [kernel, exit, calls] of cases) {
    const dir = t.testdir({ 'new.log': `${kernel}\n` });
    const fake = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
    };
    // The first mount fails (and the kernel says why); a second one succeeds.
    fake('mount', `echo x >> "${dir}/mounts"; [ "$(wc -l < "${dir}/mounts")" -gt 1 ] && exit 0; echo 'mount error(2): No such file or directory'; exit 32`);
    fake('sleep', 'exit 0');
    fake('dmesg', `[ -e "${dir}/mounts" ] && cat "${dir}/new.log"; exit 0`);
    const r = spawnSync('sh', ['-c', mountCommand('/mnt/data')], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
    t.equal(r.status, exit, `${kernel}: exit ${exit}`);
    t.equal(readFileSync(join(dir, 'mounts'), 'utf8').split('\n').filter(Boolean).length, calls, `${kernel}: mount ran ${calls} time(s)`);
  }
});

t.test('a mount that never ends is abandoned after its bound: exit 32, what is stuck said, no wait on what it left running', async (t) => {
  const dir = t.testdir({});
  const fake = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  // Like a mount.cifs stuck in the kernel: a process that outlives mount's group (no signal from
  // timeout reaches it) and holds mount's output open. A pipe there would block the script for good.
  fake('mount', `echo 'mounting'; setsid sleep 60 & echo $! > "${dir}/left"; sleep 60`);
  fake('dmesg', 'exit 0');
  const t0 = Date.now();
  const r = spawnSync('sh', ['-c', mountCommand('/mnt/data', false, undefined, 1)], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8', timeout: 30_000 });
  const took = (Date.now() - t0) / 1000;
  try { process.kill(Number(readFileSync(join(dir, 'left'), 'utf8')), 'SIGKILL'); } catch { /* gone */ }
  t.equal(r.status, 32, 'exit 32');
  t.ok(took < 20, `ended after the bound, not after what it left running (${took.toFixed(1)} s)`);
  t.match(r.stderr, /mounting/, "mount's own output");
  t.match(r.stderr, /diagnosis: the mount did not end within 1 s and is still in the kernel/);
  t.notMatch(r.stderr, /see the mount and kernel messages above/, 'one diagnosis');
});

t.test('mounts are bounded at MOUNT_BOUND_S, past cifs\' own 120 s SMBD negotiate timeout', async (t) => {
  t.ok(MOUNT_BOUND_S > 120);
  t.match(mountCommand('/mnt/data'), new RegExp(`timeout -s KILL ${MOUNT_BOUND_S} mount /mnt/data `));
});
