// #16 item 4b: `absent` on a directory (rmdir only, planned from its entries "DIR/"); share-dirs and
// mount-points record the directories they create (parents made by mkdir -p included); teardown
// removes those deepest first when empty and keeps the record only for what it had to leave.
import t from 'tap';
import { planPlay } from '../src/engine/plan.js';
import { MOUNT_POINTS_RECORD, SHARE_DIRS_RECORD, STATE_DIR } from '../src/smb/created-dirs.js';
import type { Facts, FileChange, Task, Vars } from '../src/types.js';
import mountPoints from '../tasks/smbdirect/mount-points.js';
import shareDirs from '../tasks/smbdirect/share-dirs.js';
import teardownClient from '../tasks/smbdirect/teardown-client.js';
import teardownServer from '../tasks/smbdirect/teardown-server.js';
import { loadFixtureFacts } from './fixtures/facts/index.js';
import { CLUSTER, converge, factsFor, kinds, plan, sys } from './helpers/smb-plan.js';

const dir = { isDir: true, mode: '0755', owner: 'root', group: 'root' };
const list = (...entries: string[]) => ({ isDir: true, entries });

t.test('planner: absent on a directory needs its entries, drops a non-empty one with a warning, follows earlier removals', async (t) => {
  const task = (paths: string[], reads: string[]): Task => ({ name: 't', reads: () => reads, plan: () => ({ status: 'change', changes: paths.map((path) => ({ kind: 'absent', path })) }) });
  const facts: Facts = { system: {}, probes: {}, files: {
    '/d': { path: '/d', exists: true, ...dir }, '/d/': { path: '/d/', exists: true, ...list('f') }, '/d/f': { path: '/d/f', exists: true, content: 'x' },
    '/u': { path: '/u', exists: true, ...dir }, '/u/': { path: '/u/', exists: true, ...list('a', 'b', 'c') },
  } };
  const [p] = planPlay([task(['/d/f', '/d', '/u'], [])], facts, {}, 'h', false);
  t.same(p!.changes.map((c) => 'path' in c && c.path), ['/d/f', '/d'], 'the emptied directory goes, the full one stays');
  t.same(p!.warnings, ['kept /u: not empty (3 entries: a, b, c)']);
  const [bug] = planPlay([task(['/d'], [])], { ...facts, files: { '/d': facts.files['/d']! } }, {}, 'h', false);
  t.equal(bug!.status, 'fail');
  t.match(bug!.msg, 'does not read /d/ (its entries)');
});

const server = (shares: unknown[]): Vars => ({ smbdirect_role: 'server', smbdirect_cluster: CLUSTER, ksmbd_shares: shares });

t.test('share-dirs records the directories it creates, parents included; a second run changes nothing', async (t) => {
  const v = server([{ name: 'data', path: '/srv/smb/data' }, { name: 'old', path: '/opt/old' }]);
  const facts = factsFor('debian12', [shareDirs], v, 'srv1', { '/srv': dir, '/opt': dir, '/opt/old': dir });
  const [p] = plan([shareDirs], facts, v, 'srv1');
  t.same(kinds(p!.changes), ['dir /srv/smb/data', `file ${SHARE_DIRS_RECORD}`]);
  t.match((p!.changes[1] as FileChange).content, /^#.*\n\/srv\/smb\n\/srv\/smb\/data\n$/, 'not /srv (it was there), not /opt/old');
  const after = converge(facts, [p!]);
  after.files['/srv/smb'] = { path: '/srv/smb', exists: true, ...dir };
  const [again] = plan([shareDirs], after, v, 'srv1');
  t.same([again!.status, again!.changes], ['ok', []]);
});

t.test('server teardown: recorded directories deepest first when empty, a full one kept with the message and the record', async (t) => {
  const v = server([{ name: 'data', path: '/srv/smb/data' }, { name: 'full', path: '/srv/smb/full' }, { name: 'old', path: '/opt/old' }]);
  const record = `# x\n/srv/smb\n/srv/smb/data\n/srv/smb/full\n`;
  const facts = factsFor('debian12', [teardownServer], v, 'srv1', {
    [SHARE_DIRS_RECORD]: { content: record }, [STATE_DIR]: dir, [`${STATE_DIR}/`]: list('created-share-dirs'),
    '/srv': dir, '/srv/': list('smb'), '/srv/smb': dir, '/srv/smb/': list('data', 'full'),
    '/srv/smb/data': dir, '/srv/smb/data/': list(), '/srv/smb/full': dir, '/srv/smb/full/': list('report.txt'), '/opt/old': dir, '/opt/old/': list(),
  });
  const [p] = plan([teardownServer], facts, v, 'srv1');
  const dirs = kinds(p!.changes).filter((k) => /srv|opt|provision/.test(k));
  t.same(dirs, ['absent /srv/smb/data', `file ${SHARE_DIRS_RECORD}`], 'not /srv/smb (full is in it), never /srv or /opt/old (not ours)');
  t.equal((p!.changes.find((c) => c.kind === 'file') as FileChange).content.split('\n').filter((l) => l.startsWith('/')).join(' '), '/srv/smb /srv/smb/full');
  t.same(p!.warnings, ['kept /srv/smb/full: not empty (1 entry: report.txt)', 'kept /srv/smb: not empty (1 entry: full)']);
  t.match(p!.msg, 'kept /srv/smb/full: not empty (1 entry: report.txt)');
  // The user empties it: the next teardown removes the rest, the record and our state directory.
  const next = converge(facts, [p!]);
  Object.assign(next.files, { '/srv/smb/': { path: '/srv/smb/', exists: true, ...list('full') }, '/srv/smb/full/': { path: '/srv/smb/full/', exists: true, ...list() } });
  const [q] = plan([teardownServer], next, v, 'srv1');
  t.same(kinds(q!.changes).filter((k) => /srv|opt|provision/.test(k)), ['absent /srv/smb/full', 'absent /srv/smb', `absent ${SHARE_DIRS_RECORD}`, `absent ${STATE_DIR}`]);
  const [last] = plan([teardownServer], converge(next, [q!]), v, 'srv1');
  t.same(kinds(last!.changes).filter((k) => /srv|opt|provision/.test(k)), [], 'then nothing');
});

t.test('client: mount-points records what it creates; teardown removes it when empty, a mounted one by a guarded rmdir after the umount', async (t) => {
  const v: Vars = { smbdirect_role: 'client', smbdirect_cluster: CLUSTER, smb_mounts: [{ server: 'srv1', share: 'share', path: '/data/mnt/share', user: 'alice' }] };
  const facts = factsFor('debian12', [mountPoints], v, 'cn1', {});
  const [p] = plan([mountPoints], facts, v, 'cn1');
  t.match((p!.changes.find((c) => c.kind === 'file') as FileChange).content, /\n\/data\n\/data\/mnt\n\/data\/mnt\/share\n$/);
  const td = factsFor('debian12', [teardownClient], v, 'cn1', {
    [MOUNT_POINTS_RECORD]: { content: (p!.changes.find((c) => c.kind === 'file') as FileChange).content }, [STATE_DIR]: dir, [`${STATE_DIR}/`]: list('created-mount-points'),
    '/data': dir, '/data/': list('mnt'), '/data/mnt': dir, '/data/mnt/': list('share'), '/data/mnt/share': dir, '/data/mnt/share/': list(),
  });
  const [q] = plan([teardownClient], td, v, 'cn1');
  t.same(kinds(q!.changes).filter((k) => /data|provision/.test(k)), ['absent /data/mnt/share', 'absent /data/mnt', 'absent /data', `absent ${MOUNT_POINTS_RECORD}`, `absent ${STATE_DIR}`]);
  // Mounted now: what is under it shows only after the umount, so the host decides (rmdir if empty then).
  sys(td).mounts = [{ ...sys(loadFixtureFacts('rhel9')).mounts.find((m) => m.fstype === 'cifs')!, target: '/data/mnt/share' }];
  const [m] = plan([teardownClient], td, v, 'cn1');
  t.same(kinds(m!.changes).filter((k) => /data|provision/.test(k)), ['command: umount /data/mnt/share', 'command: remove /data/mnt/share if empty', `file ${MOUNT_POINTS_RECORD}`]);
  t.same(m!.warnings, ['kept /data/mnt: not empty (1 entry: share)', 'kept /data: not empty (1 entry: mnt)']);
});
