import t from 'tap';
import { CREDENTIALS_DIR } from '../src/smb/credentials.js';
import { KSMBD_CONF } from '../src/smb/ksmbd-conf.js';
import type { Facts, Vars } from '../src/types.js';
import { USERS_DB } from '../tasks/smbdirect/ksmbd-users.js';
import { ENABLED_MARK } from '../tasks/smbdirect/ksmbd-service.js';
import { MODULES_LOAD, unitPath } from '../tasks/smbdirect/rdma-link.js';
import teardownClient from '../tasks/smbdirect/teardown-client.js';
import teardownServer from '../tasks/smbdirect/teardown-server.js';
import { FSTAB } from '../tasks/smbdirect/cifs-mount.js';
import { converge, factsFor, kinds, plan, sys } from './helpers/smb-plan.js';

const UNIT = unitPath('siw0');
const file = (content = 'x\n') => ({ content, mode: '0644', owner: 'root', group: 'root' });

/** What the engine would leave after applying: services and links as the commands make them. */
function afterApply(facts: Facts, planned: ReturnType<typeof plan>): Facts {
  const next = converge(facts, planned);
  const s = sys(next);
  s.services.units = s.services.units.filter((u) => !u.name.startsWith('smbdirect-rdma-')).map((u) => ({ ...u, active: 'inactive', enabled: 'disabled' }));
  s.services.ksmbdRunning = false;
  s.rdma.devices = s.rdma.devices.filter((d) => !d.name.startsWith('siw'));
  s.mounts = [];
  return next;
}

t.test('server teardown: stop and disable ksmbd, remove config with backups, soft RDMA link and unit; then nothing', async (t) => {
  const v: Vars = { smbdirect_role: 'server' };
  const facts = factsFor('rhel9', [teardownServer], v, 'srv1', { [KSMBD_CONF]: file(), [USERS_DB]: file('alice:AAAA\n'), [UNIT]: file(), [MODULES_LOAD]: file('siw\n'), [ENABLED_MARK]: file() });
  Object.assign(sys(facts).services.units[0]!, { enabled: 'enabled', active: 'active' });
  const [p] = plan([teardownServer], facts, v, 'srv1');
  t.equal(p!.status, 'change');
  t.same(kinds(p!.changes), [
    'service ksmbd.service stopped', 'service ksmbd.service enabled=false', `absent ${ENABLED_MARK}`, `absent ${KSMBD_CONF}`, `absent ${USERS_DB}`,
    'command: delete RDMA link siw0', 'service smbdirect-rdma-siw0.service stopped', 'service smbdirect-rdma-siw0.service enabled=false',
    `absent ${UNIT}`, `absent ${MODULES_LOAD}`,
  ]);
  t.same(p!.changes.filter((c) => c.kind === 'absent' && c.backup).map((c) => (c as { path: string }).path), [KSMBD_CONF, USERS_DB]);
  t.notMatch(p!.diffs.join(''), /alice:AAAA/);
  const [again] = plan([teardownServer], afterApply(facts, [p!]), v, 'srv1');
  t.same([again!.status, again!.changes], ['ok', []]);
});

t.test('server teardown unloads our rebuilt ksmbd module (an old kernel keeps its first RDMA port until reloaded); a stock one stays', async (t) => {
  const v: Vars = { smbdirect_role: 'server' };
  const withKsmbd = (path: string) => {
    const facts = factsFor('rhel9', [teardownServer], v, 'srv1', { [KSMBD_CONF]: file() });
    const s = sys(facts);
    s.modules.modules.ksmbd = { ...s.modules.modules.ksmbd!, loaded: true, path: path.replace('REL', s.kernel.release) };
    return facts;
  };
  const [rebuilt] = plan([teardownServer], withKsmbd('/lib/modules/REL/updates/ksmbd.ko'), v, 'srv1');
  const unload = rebuilt!.changes.find((c) => c.kind === 'command' && /unload/.test(c.desc));
  t.match(unload, { cmd: /rmmod ksmbd 2>\/dev\/null && break;.*-ge 10 \]; then sd_warn 'ksmbd module still in use, left loaded: [^']*'; break; fi/, unless: "! grep -q '^ksmbd ' /proc/modules" }, 'rmmod, retried, guarded; a module in use is left with a warning, not a failure');
  t.match(rebuilt!.status === 'change' && rebuilt!.msg, /the rebuilt ksmbd module unloaded/);
  const [stock] = plan([teardownServer], withKsmbd('/lib/modules/REL/kernel/fs/smb/server/ksmbd.ko.xz'), v, 'srv1');
  t.notOk(stock!.changes.some((c) => c.kind === 'command' && /unload/.test(c.desc)), 'the stock module is left alone');
});

t.test('server teardown without systemd: disable offline, no stop through systemctl', async (t) => {
  const v: Vars = { smbdirect_role: 'server' };
  const facts = factsFor('debian12-chroot', [teardownServer], v, 'srv1', { [KSMBD_CONF]: file(), [ENABLED_MARK]: file() });
  const [p] = plan([teardownServer], facts, v, 'srv1');
  t.same(kinds(p!.changes).slice(0, 2), ['service ksmbd.service enabled=false', `absent ${ENABLED_MARK}`]);
  t.same(kinds(p!.changes).slice(-1), [`absent ${KSMBD_CONF}`]);
});

t.test('server teardown leaves ksmbd enabled when we did not enable it (the package did)', async (t) => {
  const v: Vars = { smbdirect_role: 'server' };
  const facts = factsFor('debian12-chroot', [teardownServer], v, 'srv1', { [KSMBD_CONF]: file() });
  const [p] = plan([teardownServer], facts, v, 'srv1');
  t.same(kinds(p!.changes), [`absent ${KSMBD_CONF}`]);
});

t.test('client teardown: unmount, remove our fstab lines, credentials and the soft RDMA link; then nothing', async (t) => {
  const v: Vars = {
    smbdirect_role: 'client',
    smb_mounts: [{ server: 'srv1', share: 'share', path: '/mnt/share', user: 'alice' }, { server: 'srv1', share: 'projects', path: '/mnt/team projects/', user: 'alice' }],
  };
  const cred = `${CREDENTIALS_DIR}/srv1@alice`;
  const facts = factsFor('rhel9', [teardownClient], v, 'cn1', {
    [cred]: file('username=alice\npassword=pw\n'), [CREDENTIALS_DIR]: { isDir: true }, [UNIT]: file(), [MODULES_LOAD]: file('siw\n'), '/mnt/share': { isDir: true },
  });
  const before = facts.files[FSTAB]!.content!;
  const [p] = plan([teardownClient], facts, v, 'cn1');
  t.same(kinds(p!.changes), [
    'command: umount /mnt/share', 'command: umount /mnt/team projects', `file ${FSTAB}`, `absent ${cred}`, `command: remove ${CREDENTIALS_DIR}`,
    'command: delete RDMA link siw0', 'service smbdirect-rdma-siw0.service stopped', 'service smbdirect-rdma-siw0.service enabled=false',
    `absent ${UNIT}`, `absent ${MODULES_LOAD}`, 'command: remove /mnt/share if empty',
  ]);
  const fstab = (p!.changes[2] as { content: string }).content;
  t.notMatch(fstab, /cifs/);
  t.equal(fstab, before.split('\n').filter((l) => !l.includes(' cifs ')).join('\n'), 'every other line byte for byte');
  t.notMatch(p!.diffs.join(''), /password=pw/);
  const after = afterApply(facts, [p!]);
  for (const p of [CREDENTIALS_DIR, '/mnt/share']) after.files[p] = { path: p, exists: false };
  const [again] = plan([teardownClient], after, v, 'cn1');
  t.same([again!.status, again!.changes], ['ok', []]);
});

t.test('client teardown on a host that serves too leaves the soft RDMA link to the server play, which stops ksmbd before deleting it', async (t) => {
  const v: Vars = { smbdirect_role: 'client', group_names: ['smb_clients', 'smb_servers'], smb_mounts: [{ server: 'srv1', share: 'share', path: '/mnt/share', user: 'alice' }] };
  const facts = factsFor('rhel9', [teardownClient, teardownServer], v, 'cn1', { [UNIT]: file(), [MODULES_LOAD]: file('siw\n') });
  Object.assign(sys(facts).services.units[0]!, { active: 'active' }); // ksmbd serving
  const [client] = plan([teardownClient], facts, v, 'cn1');
  t.notMatch(kinds(client!.changes).join('\n'), /RDMA link|smbdirect-rdma|modules-load/, 'no link, unit or modules-load change in the client play');
  t.match(client!.msg, /soft RDMA link left to the server play/);
  const [server] = plan([teardownServer], facts, { ...v, smbdirect_role: 'server' }, 'cn1');
  const order = kinds(server!.changes);
  const stop = order.findIndex((k) => /ksmbd/.test(k) && /stopped|shutdown/.test(k));
  const del = order.indexOf('command: delete RDMA link siw0');
  t.ok(stop >= 0 && del > stop, `the server play stops ksmbd (${order[stop]}) before it deletes the link (${order[del]})`);
});

t.test('client teardown works when the vars no longer validate', async (t) => {
  const v: Vars = { smbdirect_role: 'client', smb_mounts: [{ path: '/mnt/share', vers: 3 }] };
  const facts = factsFor('rhel9', [teardownClient], v, 'cn1');
  const [p] = plan([teardownClient], facts, v, 'cn1');
  t.same(kinds(p!.changes).slice(0, 2), ['command: umount /mnt/share', `file ${FSTAB}`]);
});

t.test('client teardown keeps a soft RDMA link that a connection still holds (rdma link delete would block for good): decided on the host, then no change and a warning', async (t) => {
  const v: Vars = { smbdirect_role: 'client', smb_mounts: [{ server: 'srv1', share: 'share', path: '/mnt/share', user: 'alice' }] };
  const facts = factsFor('rhel9', [teardownClient], v, 'cn1', { [UNIT]: file(), [MODULES_LOAD]: file('siw\n'), '/mnt/share': { isDir: true } });
  // A cifs connection on siw0 whose server is gone: the unmount is lazy, the connection stays.
  sys(facts).rdma.cmIds = [{ dev: 'siw0', state: 'DISCONNECT', comm: 'cifs' }, { dev: 'rxe9', state: 'LISTEN', comm: 'ksmbd' }];
  const [p] = plan([teardownClient], facts, v, 'cn1');
  const del = p!.changes.find((c) => c.kind === 'command' && c.desc === 'delete RDMA link siw0');
  t.match(del, {
    cmd: /^i=0; while rdma resource show cm_id 2>\/dev\/null \| grep -q '\^link siw0\/\.\* comm \\\[cifs\\\] ' && \[ \$i -lt 10 \]; do sleep 1; i=\$\(\(i\+1\)\); done; if rdma resource show cm_id 2>\/dev\/null \| grep -q '\^link siw0\/\.\* comm \\\[cifs\\\] '; then sd_warn 'RDMA link siw0 kept: a cifs RDMA connection still holds it [^']*next reboot \(or: rdma link delete siw0\)'; else rdma link delete siw0; fi$/,
    unless: '! rdma dev show siw0',
  }, 'the first teardown decides on the host, after its unmounts: a held link is kept with a warning');
  t.same(p!.warnings ?? [], [], 'no warning at plan time: the unmount may still release it');
  t.ok(kinds(p!.changes).includes(`absent ${UNIT}`), 'its boot unit goes either way');
  // The link stayed (held), its unit is gone: the next teardown changes nothing and says why.
  const devices = sys(facts).rdma.devices;
  const after = afterApply(facts, [p!]);
  sys(after).rdma.devices = devices;
  after.files['/mnt/share'] = { path: '/mnt/share', exists: false };
  const [again] = plan([teardownClient], after, v, 'cn1');
  t.same([again!.status, again!.changes], ['ok', []], 'a second teardown: no change');
  t.match(again!.msg, /the soft RDMA link's boot unit removed, the link kept/, 'the message does not say the link is gone');
  t.match(again!.warnings, [/^RDMA link siw0 kept: 1 cifs RDMA connection \(DISCONNECT\) still holds it .*goes at the next reboot/]);
  // Not held (the unmount released it): deleted as before.
  const free = factsFor('rhel9', [teardownClient], v, 'cn1', { [MODULES_LOAD]: file('siw\n') });
  sys(free).rdma.cmIds = [{ dev: 'rxe9', state: 'LISTEN', comm: 'ksmbd' }];
  t.ok(plan([teardownClient], free, v, 'cn1')[0]!.changes.some((c) => c.kind === 'command' && c.desc === 'delete RDMA link siw0'), 'another device\'s cm_id does not hold siw0');
  // ksmbd's own listener and connections on siw0 (a host in both groups: the client play runs
  // first, the server play stops ksmbd): they go with the device, so the link is deleted.
  const served = factsFor('rhel9', [teardownClient], v, 'cn1', { [MODULES_LOAD]: file('siw\n') });
  sys(served).rdma.cmIds = [{ dev: 'siw0', state: 'LISTEN', comm: 'ksmbd' }, { dev: 'siw0', state: 'CONNECT', comm: 'smbdirect' }];
  const [s] = plan([teardownClient], served, v, 'cn1');
  t.ok(s!.changes.some((c) => c.kind === 'command' && c.desc === 'delete RDMA link siw0'), 'ksmbd\'s cm_ids do not keep siw0, even with its unit gone');
  t.same(s!.warnings ?? [], []);
});
