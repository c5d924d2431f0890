// The boot retry of our cifs mounts (src/smb/boot-retry.ts): unit names as systemd itself escapes
// them, the units as systemd parses them, and the client tasks writing and removing them.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Vars } from '../src/types.js';
import { dropInContent, dropInDir, dropInPath, mountUnitName, REMOUNT_UNIT, renderRemountUnit } from '../src/smb/boot-retry.js';
import cifsMount, { FSTAB } from '../tasks/smbdirect/cifs-mount.js';
import teardownClient from '../tasks/smbdirect/teardown-client.js';
import { CLUSTER, converge, factsFor, kinds, plan } from './helpers/smb-plan.js';

t.test('mount unit names: what systemd-escape --path --suffix=mount prints', async (t) => {
  for (const p of ['/mnt/share', '/mnt/team projects', '/srv/a-b/c.d', '/mnt/x/', '/mnt/ünï', '/.hidden/x']) {
    const want = spawnSync('systemd-escape', ['--path', '--suffix=mount', p], { encoding: 'utf8' });
    t.equal(want.status, 0, want.stderr);
    t.equal(mountUnitName(p), want.stdout.trim(), p);
  }
});

t.test('the template unit and the drop-in parse cleanly (systemd-analyze verify)', async (t) => {
  const dir = t.testdir({});
  const unitDir = join(dir, 'system');
  mkdirSync(join(unitDir, 'mnt-share.mount.d'), { recursive: true });
  writeFileSync(join(unitDir, 'smbdirect-remount@.service'), renderRemountUnit());
  writeFileSync(join(unitDir, 'mnt-share.mount'), '[Mount]\nWhat=//192.0.2.1/share\nWhere=/mnt/share\nType=cifs\n');
  writeFileSync(join(unitDir, 'mnt-share.mount.d', 'smbdirect-retry.conf'), dropInContent());
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(unitDir, 'smbdirect-remount@mnt-share.mount.service')], { encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: `${unitDir}:` } });
  t.notMatch(r.stderr, /smbdirect-remount|Unknown (key|section)|bad unit file setting|Invalid/i, r.stderr);
  t.match(renderRemountUnit(), /^StartLimitBurst=120$/m, 'bounded retries: 120 tries ...');
  t.match(renderRemountUnit(), /^StartLimitIntervalSec=1800$/m, '... in 30 minutes, 15 s apart: a whole cluster rebooting at once');
  t.match(renderRemountUnit(), /^ExecStartPre=\/bin\/sleep 15$/m);
  t.match(renderRemountUnit(), /^ExecStart=\/bin\/systemctl --no-block start %i$/m);
  t.match(dropInContent(), /^OnFailure=smbdirect-remount@%n\.service$/m);
});

process.env.SMBT_RETRY_PW = 'pw';
const vars: Vars = {
  smbdirect_role: 'client', smbdirect_cluster: CLUSTER, ksmbd_users: [{ name: 'alice', password_env: 'SMBT_RETRY_PW' }],
  smb_mounts: [{ server: 'srv1', share: 'data', path: '/mnt/data', user: 'alice' }],
};

t.test('the mount task writes them once; teardown removes them, directory included; then nothing', async (t) => {
  const facts = factsFor('rhel9', [cifsMount], vars, 'cn1');
  const [p] = plan([cifsMount], facts, vars, 'cn1');
  t.same(kinds(p!.changes).filter((k) => k.includes('systemd')), [`file ${REMOUNT_UNIT}`, `file ${dropInPath('/mnt/data')}`]);
  const after = converge(facts, [p!]);
  t.same(kinds(plan([cifsMount], after, vars, 'cn1')[0]!.changes).filter((k) => k.includes('systemd')), [], 'a second plan: nothing');

  const present = factsFor('rhel9', [teardownClient], vars, 'cn1', {
    [REMOUNT_UNIT]: { content: renderRemountUnit() }, [dropInPath('/mnt/data')]: { content: dropInContent() },
    [dropInDir('/mnt/data')]: { isDir: true }, [`${dropInDir('/mnt/data')}/`]: { isDir: true, entries: ['smbdirect-retry.conf'] },
    [FSTAB]: { content: '//10.0.0.11/old /mnt/old cifs vers=3.1.1,rdma,credentials=/etc/smbdirect-provision/credentials/srv1@alice,_netdev,nofail 0 0\n' },
  });
  const [down] = plan([teardownClient], present, vars, 'cn1');
  const ks = kinds(down!.changes);
  for (const k of [`absent ${dropInPath('/mnt/data')}`, `absent ${dropInDir('/mnt/data')}`, `absent ${REMOUNT_UNIT}`]) t.ok(ks.includes(k), k);
  t.ok(ks.includes('command: remove /etc/systemd/system/mnt-old.mount.d/smbdirect-retry.conf'), ks.join(' / ') + ' ' + 'an fstab line of ours not in the vars: its drop-in by a guarded rm');
  // A drop-in directory with a file of someone else's: kept, with a warning.
  const shared = factsFor('rhel9', [teardownClient], vars, 'cn1', {
    [dropInPath('/mnt/data')]: { content: dropInContent() }, [dropInDir('/mnt/data')]: { isDir: true },
    [`${dropInDir('/mnt/data')}/`]: { isDir: true, entries: ['local.conf', 'smbdirect-retry.conf'] },
  });
  const [keep] = plan([teardownClient], shared, vars, 'cn1');
  t.notOk(kinds(keep!.changes).includes(`absent ${dropInDir('/mnt/data')}`));
  t.match(keep!.warnings.join('\n'), /kept \/etc\/systemd\/system\/mnt-data\.mount\.d: not empty \(1 entry: local\.conf\)/);
});
