// A cifs mount whose server does not answer (#16 item 1), at plan level: the RHEL 9 capture (two
// live rdma mounts of srv1) with /mnt/share marked as the facts script marks a dead server's
// mount. Every task that would touch it says so instead, naming server and remedy; teardown
// detaches it lazily. The shell of that lazy unmount runs for real on a tmpfs in a private mount
// namespace; the VM end-to-end test proves the whole path on a really dead server.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import type { Facts, Task, Vars } from '../src/types.js';
import { lazyUnmountCommand, unansweredText } from '../src/smb/unanswered.js';
import cifsMount from '../tasks/smbdirect/cifs-mount.js';
import mountPoints from '../tasks/smbdirect/mount-points.js';
import teardownClient from '../tasks/smbdirect/teardown-client.js';
import verify from '../tasks/smbdirect/verify.js';
import { CLUSTER, factsFor, kinds, plan, sys } from './helpers/smb-plan.js';

process.env.SMBT_UNANSWERED_PW = 'pw';
const vars: Vars = {
  smbdirect_role: 'client', smbdirect_cluster: CLUSTER, smbdirect_rdma_mode: 'siw',
  ksmbd_users: [{ name: 'alice', password_env: 'SMBT_UNANSWERED_PW' }],
  smb_mounts: [
    { server: 'srv1', share: 'share', path: '/mnt/share', user: 'alice' },
    { server: 'srv1', share: 'projects', path: '/mnt/team projects', user: 'alice' },
  ],
};

function deadFacts(tasks: Task[], answer: 'hung' | 'failed'): Facts {
  const f = factsFor('rhel9', tasks, vars, 'cn1');
  const s = sys(f);
  s.mounts = s.mounts.map((m) => (m.target === '/mnt/share' ? { ...m, answer } : m));
  // What the facts script gives for paths at or under it: untouched, only the mount point known.
  for (const p of Object.keys(f.files)) {
    if (p === '/mnt/share' || p.startsWith('/mnt/share/')) f.files[p] = { path: p, exists: true, isDir: p === '/mnt/share' || p === '/mnt/share/', unanswered: '/mnt/share' };
  }
  // The kernel's account: connected 10 min ago, refused since.
  s.dmesg = { ...s.dmesg, readable: true, uptime: 1000, lines: [
    { t: 400, text: 'CIFS: VFS: RDMA transport established' },
    { t: 900, text: 'CIFS: VFS: _smbd_get_connection:1691 rdma_connect() failed with -111' },
    { t: 990, text: 'CIFS: VFS: _smbd_get_connection:1691 rdma_connect() failed with -111' },
  ] };
  return f;
}

t.test('the sentence: which mount, which server, since when by the kernel, what to do', async (t) => {
  const f = deadFacts([], 'hung');
  const m = sys(f).mounts.find((x) => x.target === '/mnt/share')!;
  t.equal(unansweredText(sys(f), m, { server: 'srv1', host: 'cn1' }),
    '//10.0.0.11/share on /mnt/share (server srv1) does not answer: its statfs got no answer within 5 s (the server is powered off, hung or cut off; anything that touches the mount blocks); '
    + 'last RDMA connection 10m00s ago ("CIFS: VFS: RDMA transport established"); since then the kernel logged "CIFS: VFS: _smbd_get_connection:1691 rdma_connect() failed with -111" 1m40s ago and 1 more line(s) like it, the last 10s ago; '
    + 'bring the server back (the mount recovers by itself), or unmount it: smbdirect run teardown --limit cn1 (a lazy unmount)');
  t.match(unansweredText(sys(deadFacts([], 'failed')), { ...m, answer: 'failed' }), /statfs failed at once \(the server refuses the connection: is ksmbd stopped\?\)/);
});

t.test('7.x failure lines (smbdirect_*) are told like the rdma_connect ones', async (t) => {
  const f = deadFacts([], 'hung');
  sys(f).dmesg.lines = [
    { t: 400, text: 'CIFS: VFS: RDMA transport established' },
    { t: 500, text: 'smbdirect: ib_dev[siw0]PORT[1]: iwarp=1' },
    { t: 900, text: 'CIFS: VFS: smbdirect_connect_sync(10.0.0.11:5445) failed with -111' },
    { t: 990, text: 'CIFS: VFS: smbdirect_connect_sync 10.0.0.11:5445 failed -ECONNREFUSED' },
  ];
  const m = sys(f).mounts.find((x) => x.target === '/mnt/share')!;
  t.match(unansweredText(sys(f), m), /since then the kernel logged "CIFS: VFS: smbdirect_connect_sync\(10\.0\.0\.11:5445\) failed with -111" 1m40s ago and 1 more line\(s\) like it, the last 10s ago;/);
});

t.test('verify: the dead mount FAILs with that sentence, the live one still passes', async (t) => {
  const [p] = plan([verify], deadFacts([verify], 'hung'), vars, 'cn1');
  t.equal(p!.status, 'fail');
  t.match(p!.report, /mount \/mnt\/share\s+FAIL\s+\/\/10\.0\.0\.11\/share on \/mnt\/share \(server srv1\) does not answer/);
  t.match(p!.report, /mount \/mnt\/team projects\s+PASS/);
  const [healthy] = plan([verify], factsFor('rhel9', [verify], vars, 'cn1'), vars, 'cn1');
  t.notMatch(healthy!.report, /does not answer/, 'negative control: the capture as it was');
});

t.test('the mount task fails naming it and changes nothing; mount points leave it alone', async (t) => {
  const tasks = [mountPoints, cifsMount];
  const out = plan(tasks, deadFacts(tasks, 'hung'), vars, 'cn1');
  t.same(out.map((p) => p.status), ['change', 'fail'], out.map((p) => p.msg).join(' | '));
  t.notOk(out[0]!.changes.some((c) => 'path' in c && c.path === '/mnt/share'), 'no mkdir of the dead mount point');
  t.match(out[1]!.msg, /^\/\/10\.0\.0\.11\/share on \/mnt\/share \(server srv1\) does not answer/);
  t.same(out[1]!.changes, []);
});

t.test('the engine refuses any write under a mount that does not answer', async (t) => {
  const writer: Task = { name: 'writer', reads: () => ['/mnt/share/sub/file'], plan: () => ({ status: 'change', changes: [{ kind: 'file', path: '/mnt/share/sub/file', content: 'x' }] }) };
  const [p] = plan([writer], deadFacts([writer], 'failed'), vars, 'cn1');
  t.equal(p!.status, 'fail');
  t.match(p!.msg, /\/mnt\/share\/sub\/file is on \/mnt\/share, a cifs mount whose server does not answer: nothing there is changed/);
  t.same(p!.changes, []);
});

t.test('teardown: a lazy, bounded unmount for the dead mount, a plain one for the live', async (t) => {
  const [p] = plan([teardownClient], deadFacts([teardownClient], 'hung'), vars, 'cn1');
  t.equal(p!.status, 'change');
  const cmds = kinds(p!.changes).filter((k) => k.startsWith('command: umount'));
  t.same(cmds, ['command: umount -l /mnt/share (its server does not answer)', 'command: umount /mnt/team projects']);
});

t.test('the lazy unmount command, for real on a tmpfs in a private mount namespace', async (t) => {
  const dir = t.testdir({ 'a b': {} });
  const run = (script: string) => spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
  const target = `${dir}/a b`;
  const ok = run(`mount -t tmpfs none "${target}" && grep -c tmpfs /proc/mounts >/dev/null && ${lazyUnmountCommand(target).replace(/\n/g, '\n')}\nrc=$?; grep -q " ${target.replace(' ', '\\\\040')} " /proc/mounts && echo STILL; exit $rc`);
  t.equal(ok.status, 0, ok.stderr);
  t.notMatch(ok.stdout, /STILL/, 'detached');
  // Negative control: a path that is mounted twice stays mounted after one detach: the command says so.
  const twice = run(`mount -t tmpfs none "${target}" && mount -t tmpfs none "${target}" && ${lazyUnmountCommand(target)}`);
  t.equal(twice.status, 1);
  t.match(twice.stderr, /a b is still mounted/);
});
