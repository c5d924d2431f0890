import t from 'tap';
import { ntHash } from '../src/smb/md4.js';
import { KSMBD_CONF } from '../src/smb/ksmbd-conf.js';
import { RELOAD_KSMBD, RESTART_KSMBD } from '../src/smb/handlers.js';
import { runPlayOnHost } from '../src/engine/host-play.js';
import type { Change, Connection, FileChange, Vars } from '../src/types.js';
import ksmbdConfig from '../tasks/smbdirect/ksmbd-config.js';
import ksmbdService, { ENABLED_MARK, handlers as serviceHandlers } from '../tasks/smbdirect/ksmbd-service.js';
import ksmbdUsers, { PASSWD_PROBE, USERS_DB, systemUsersNeeded } from '../tasks/smbdirect/ksmbd-users.js';
import shareDirs from '../tasks/smbdirect/share-dirs.js';
import validate from '../tasks/smbdirect/validate.js';
import { converge, factsFor, kinds, plan, sys, visibleText } from './helpers/smb-plan.js';

// Passwords with every shell metacharacter we could think of: they must never reach a command.
const ALICE_PW = `pa'ss "w0rd" $(reboot) \`id\` ;|&`;
const BOB_PW = 'b0b-s3cret=,x';
process.env.SMBT_ALICE_PW = ALICE_PW;
process.env.SMBT_BOB_PW = BOB_PW;

const vars = (extra: Vars = {}): Vars => ({
  smbdirect_role: 'server',
  ksmbd_global: { workgroup: 'LAB' },
  ksmbd_users: [{ name: 'alice', password_env: 'SMBT_ALICE_PW' }, { name: 'bob', password_env: 'SMBT_BOB_PW' }],
  ksmbd_shares: [
    { name: 'data', path: '/srv/data', valid_users: ['alice'], owner: 'alice', group: 'alice', mode: '2775' },
    { name: 'scratch', path: '/srv/scratch', force_user: 'nobody' },
  ],
  ...extra,
});
const TASKS = [validate, ksmbdConfig, ksmbdUsers, shareDirs];

t.test('fresh Debian 12 server: config, users, share directories', async (t) => {
  const v = vars();
  const facts = factsFor('debian12', TASKS, v, 'srv1');
  const out = plan(TASKS, facts, v, 'srv1');
  t.same(out.map((p) => p.status), ['ok', 'change', 'change', 'change']);
  t.same(kinds(out.flatMap((p) => p.changes)), [
    `file ${KSMBD_CONF}`, 'command: create system user alice', `file ${USERS_DB}`, 'dir /srv/data', 'dir /srv/scratch', 'file /var/lib/smbdirect-provision/created-share-dirs',
  ]);
  const conf = out[1]!.changes[0] as FileChange;
  t.same([conf.mode, conf.owner, conf.group, conf.notify], ['0644', 'root', 'root', [RESTART_KSMBD]]);
  t.matchSnapshot(conf.content, 'ksmbd.conf');
  const db = out[2]!.changes[1] as FileChange;
  t.same([db.mode, db.owner, db.group, db.sensitive, db.notify], ['0600', 'root', 'root', true, [RELOAD_KSMBD]]);
  t.equal(db.content, `alice:${ntHash(ALICE_PW).toString('base64')}\nbob:${ntHash(BOB_PW).toString('base64')}\n`);
  t.same(out[3]!.changes[0], { kind: 'dir', path: '/srv/data', owner: 'alice', group: 'alice', mode: '2775' });
});

t.test('converged server: every task ok, nothing to change', async (t) => {
  const v = vars();
  const first = plan(TASKS, factsFor('debian12', TASKS, v, 'srv1'), v, 'srv1');
  const facts = converge(factsFor('debian12', TASKS, v, 'srv1', {}, { [PASSWD_PROBE]: { code: 0, stdout: 'alice:x:998:998::/home/alice:/usr/sbin/nologin\n' } }), first);
  const again = plan(TASKS, facts, v, 'srv1');
  t.same(again.map((p) => [p.status, p.changes.length]), [['ok', 0], ['ok', 0], ['ok', 0], ['ok', 0]]);
});

t.test('ksmbd.conf: [global] change restarts, share change reloads, layout change notifies nothing', async (t) => {
  const v = vars();
  const first = plan([ksmbdConfig], factsFor('debian12', [ksmbdConfig], v, 'srv1'), v, 'srv1');
  const before = converge(factsFor('debian12', [ksmbdConfig], v, 'srv1'), first);
  const notify = (extra: Vars, facts = before) => {
    const [p] = plan([ksmbdConfig], facts, vars(extra), 'srv1');
    return p!.changes.map((c) => c.notify);
  };
  t.same(notify({ ksmbd_global: { workgroup: 'OTHER' } }), [[RESTART_KSMBD]]);
  t.same(notify({ ksmbd_shares: [...(vars().ksmbd_shares as object[]), { name: 'more', path: '/srv/more' }] }), [[RELOAD_KSMBD]]);
  const cur = before.files[KSMBD_CONF]!;
  const relaid = { ...before, files: { ...before.files, [KSMBD_CONF]: { ...cur, content: `; edited by hand\n${cur.content!.replace(/\t/g, '    ')}` } } };
  t.same(notify({}, relaid), [[]], 'rewritten, but ksmbd reads the same');
});

t.test('ksmbd users: system users only where no force_user; hand-made users dropped with a warning', async (t) => {
  t.same(systemUsersNeeded({ users: [{ name: 'alice' }, { name: 'bob' }], shares: [{ name: 's', path: '/s', readOnly: false, validUsers: [], invalidUsers: [], writeList: [] }] }), ['alice', 'bob']);
  const v = vars();
  const facts = factsFor('debian12', [ksmbdUsers], v, 'srv1', { [USERS_DB]: { content: 'carol:AAAA\n', mode: '0600', owner: 'root', group: 'root' } });
  const [p] = plan([ksmbdUsers], facts, v, 'srv1');
  t.match(p!.warnings.join('\n'), /removing users not in ksmbd_users: carol/);
  t.match(p!.diffs.join(''), /content hidden/);
  t.notMatch(p!.diffs.join(''), /carol:AAAA/);
  const cmd = p!.changes[0] as Extract<Change, { kind: 'command' }>;
  t.equal(cmd.cmd, 'useradd --system --no-create-home --shell /usr/sbin/nologin alice');
  t.equal(cmd.unless, 'getent passwd alice');
});

t.test('secrets: no password or NT hash outside sensitive file contents', async (t) => {
  const v = vars();
  const out = plan(TASKS, factsFor('debian12', TASKS, v, 'srv1'), v, 'srv1');
  const text = visibleText(out);
  for (const s of [ALICE_PW, BOB_PW, ntHash(ALICE_PW).toString('base64'), ntHash(BOB_PW).toString('base64')]) t.notOk(text.includes(s), `not shown: ${s.slice(0, 3)}...`);
  for (const h of serviceHandlers) t.notOk(JSON.stringify(h.changes(v, 'srv1')).includes(ALICE_PW));
});

t.test('validation problems fail the first task, all listed, before any change', async (t) => {
  const v = vars({
    ksmbd_users: [{ name: 'alice', password: 'inline-secret' }, { name: 'bob', password_env: 'SMBT_UNSET_VAR' }],
    ksmbd_shares: [{ name: 'a]b', path: 'relative' }],
  });
  delete process.env.SMBT_UNSET_VAR;
  const out = plan(TASKS, factsFor('debian12', TASKS, v, 'srv1'), v, 'srv1');
  t.equal(out[0]!.status, 'fail');
  const lines = out[0]!.msg.split('\n').slice(1);
  t.ok(lines.length >= 4, 'every problem on its own line');
  t.match(out[0]!.msg, /ksmbd_users\[0\]\.password: passwords are never accepted/);
  t.match(out[0]!.msg, /ksmbd_shares\[0\]\.name = "a\]b"/);
  t.match(out[0]!.msg, /ksmbd_shares\[0\]\.path = "relative"/);
  t.notMatch(out[0]!.msg, /inline-secret/);
  t.match(out[0]!.msg, new RegExp(`^${lines.length} problem\\(s\\) in the variables, nothing was changed:\n`), 'the count in the header is the number of lines listed');
});

t.test('the engine sends nothing to a host whose validate failed, though later tasks planned changes', async (t) => {
  // A password source that is not set fails validate (and ksmbd-users) but leaves ksmbd-config and
  // share-dirs plannable: planPlay plans them, changes included; it is runPlayOnHost that must stop
  // at the first failure and apply nothing.
  delete process.env.SMBT_UNSET_VAR;
  const v = vars({ ksmbd_users: [{ name: 'alice', password_env: 'SMBT_UNSET_VAR' }] });
  const facts = factsFor('debian12', TASKS, v, 'srv1');
  for (const task of TASKS) for (const k of Object.keys(task.probes?.(v, 'srv1') ?? {})) facts.probes[k] ??= { code: 1, stdout: '' };
  t.same(plan(TASKS, facts, v, 'srv1').map((p) => p.status), ['fail', 'change', 'fail', 'change'], 'planPlay plans past the failure');
  const sent: string[] = [];
  const conn: Connection = {
    host: 'srv1', roundTrips: 0, close: async () => undefined,
    run: async (script) => (sent.push(script), { code: 0, stdout: '', stdoutBytes: Buffer.alloc(0), stderr: '' }),
  };
  // Facts from an earlier play (cachedFacts) that cover every read: no facts round trip either.
  const out = await runPlayOnHost({ conn, host: { name: 'srv1', groups: ['all'], vars: v }, tasks: TASKS, handlers: new Map(), check: false, cachedFacts: facts });
  t.same(sent, [], 'no script reached the host');
  t.same(out.results.map((r) => [r.task, r.status]), [['Gathering Facts', 'ok'], [validate.name, 'failed']], 'no result after validate');
  t.match(out.results[1]!.msg, /srv1: ksmbd user alice: environment variable SMBT_UNSET_VAR is not set/);
  t.equal(out.state, 'failed');
  t.notOk(out.applied, 'nothing applied');
});

t.test('validate on a server names a missing password source', async (t) => {
  delete process.env.SMBT_UNSET_VAR;
  const v = vars({ ksmbd_users: [{ name: 'alice', password_env: 'SMBT_UNSET_VAR' }] });
  const [p] = plan([validate], factsFor('debian12', [validate], v, 'srv1'), v, 'srv1');
  t.equal(p!.status, 'fail');
  t.match(p!.msg, /srv1: ksmbd user alice: environment variable SMBT_UNSET_VAR is not set on the controller/);
});

t.test('ksmbd service: started where the kernel allows it and systemd runs', async (t) => {
  const v = vars({ smbdirect_rdma_mode: 'hardware', smbdirect_rdma_netdev: 'enp65s0f0np0' });
  const facts = factsFor('ubuntu2404', [ksmbdService], v, 'srv1');
  const [p] = plan([ksmbdService], facts, v, 'srv1');
  t.equal(p!.status, 'change', p!.msg);
  t.same(kinds(p!.changes), ['service ksmbd.service enabled=true', `file ${ENABLED_MARK}`, 'service ksmbd.service started']);
  // A start reads the config written before it in the play: no restart right after it.
  t.same(p!.changes!.at(-1)?.satisfies, serviceHandlers.map((h) => h.name), 'the start satisfies the restart and reload handlers');
  const unit = sys(facts).services.units.find((u) => u.name === 'ksmbd.service')!;
  Object.assign(unit, { enabled: 'enabled', active: 'active' });
  facts.files[ENABLED_MARK] = { path: ENABLED_MARK, exists: true, content: 'x\n' };
  t.equal(plan([ksmbdService], facts, v, 'srv1')[0]!.status, 'ok');
});

t.test('ksmbd service: kernel without SMB Direct: fail, or with policy warn skip the start', async (t) => {
  const facts = factsFor('debian12', [ksmbdService], vars(), 'srv1');
  t.equal(plan([ksmbdService], facts, vars(), 'srv1')[0]!.status, 'fail');
  const [p] = plan([ksmbdService], facts, vars({ smbdirect_kernel_policy: 'warn' }), 'srv1');
  t.equal(p!.status, 'skip');
  t.match(p!.msg, /SMB_SERVER_SMBDIRECT/);
});

t.test('ksmbd service: no systemd (chroot): enabled offline, start skipped with the reason', async (t) => {
  const v = vars({ smbdirect_kernel_policy: 'warn' });
  const facts = factsFor('debian12-chroot', [ksmbdService], v, 'srv1');
  sys(facts).services.units[0]!.enabled = 'disabled';
  const [p] = plan([ksmbdService], facts, v, 'srv1');
  t.equal(p!.status, 'change');
  t.same(kinds(p!.changes), ['service ksmbd.service enabled=true', `file ${ENABLED_MARK}`]);
  t.match(p!.warnings.join('\n'), /not started/);
});

t.test('handlers guard themselves: restart only a running ksmbd, reload falls back to restart', async (t) => {
  const byName = new Map(serviceHandlers.map((h) => [h.name, h.changes({}, 'srv1')]));
  t.same([...byName.keys()], [RESTART_KSMBD, RELOAD_KSMBD]);
  const [restart] = byName.get(RESTART_KSMBD)! as Array<Extract<Change, { kind: 'command' }>>;
  t.equal(restart!.cmd, 'systemctl try-restart ksmbd.service');
  t.equal(restart!.unless, '[ ! -d /run/systemd/system ]');
  const [reload] = byName.get(RELOAD_KSMBD)! as Array<Extract<Change, { kind: 'command' }>>;
  t.match(reload!.cmd, /ExecReload.*systemctl reload ksmbd\.service; else systemctl restart ksmbd\.service/);
  t.match(reload!.unless!, /systemctl is-active --quiet ksmbd\.service/);
});

t.test('share directory with a numeric owner/group: no change once the ids match (#16)', async (t) => {
  // stat reports the name (%U/%G) and the id (%u/%g): a numeric owner is compared with the id.
  for (const [owner, group] of [['1000', '1000'], [1000, 1000]] as const) {
    const v = vars({ ksmbd_shares: [{ name: 'data', path: '/srv/data', owner, group, mode: '2775' }] });
    const facts = factsFor('debian12', [shareDirs], v, 'srv1', { '/srv/data': { isDir: true, mode: '2775', owner: 'alice', group: 'staff', uid: '1000', gid: '1000' } });
    const [p] = plan([shareDirs], facts, v, 'srv1');
    t.same([p!.status, p!.changes], ['ok', []], `owner ${typeof owner} ${owner}: a second run changes nothing`);
    const other = { ...facts, files: { ...facts.files, '/srv/data': { ...facts.files['/srv/data']!, uid: '1001' } } };
    t.same(kinds(plan([shareDirs], other, v, 'srv1')[0]!.changes), ['dir /srv/data'], 'another uid is a change');
  }
  const v = vars({ ksmbd_shares: [{ name: 'data', path: '/srv/data', owner: 'alice', group: 'staff' }] });
  const named = factsFor('debian12', [shareDirs], v, 'srv1', { '/srv/data': { isDir: true, mode: '0755', owner: 'alice', group: 'staff', uid: '1000', gid: '50' } });
  t.equal(plan([shareDirs], named, v, 'srv1')[0]!.status, 'ok', 'names still compare with names');
});
