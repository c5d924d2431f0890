// Several soft RDMA links per host (smbdirect_rdma_netdev as a list, for SMB3 multichannel over
// RDMA): rdma-link, teardown, verify and preflight planned against the RHEL 9 fixture (siw0 on
// ens3, ACTIVE, its unit enabled) with a second NIC ens4 on its own subnet.
import t from 'tap';
import { systemOf, type SystemFacts } from '../src/facts/index.js';
import { planPlay } from '../src/engine/plan.js';
import type { Change, Check, Plan, TaskContext, Vars } from '../src/types.js';
import preflight from '../tasks/smbdirect/preflight.js';
import rdmaLink, { MODULES_LOAD, unitPath } from '../tasks/smbdirect/rdma-link.js';
import teardownServer from '../tasks/smbdirect/teardown-server.js';
import verify from '../tasks/smbdirect/verify.js';
import { loadFixtureFacts } from './fixtures/facts/index.js';
import { converge, factsFor, kinds, plan, sys } from './helpers/smb-plan.js';

const TWO: Vars = { smbdirect_role: 'client', smbdirect_rdma_netdev: ['ens3', 'ens4'] };

/** The second NIC, on its own subnet (multichannel needs one per NIC). */
function addEns4(s: SystemFacts): void {
  s.net.netdevs.push({ name: 'ens4', up: true, lowerUp: true, operstate: 'UP', mac: null, mtu: 1500, addrs: [{ family: 'inet', address: '10.0.1.31', prefix: 24 }] });
}
/** siw1 on ens4 as `rdma link add` makes it, and its unit enabled. */
function addSiw1(s: SystemFacts): void {
  s.rdma.devices.push({ name: 'siw1', port: 1, nodeType: 'iwarp', linkLayer: 'Ethernet', netdev: 'ens4', state: 'ACTIVE', physicalState: 'LINK_UP' });
  s.services.units.push({ name: 'smbdirect-rdma-siw1.service', enabled: 'enabled', active: 'active' });
}
const noLinks = (s: SystemFacts) => { s.rdma.devices = []; s.rdma.cmIds = []; s.services.units = s.services.units.filter((u) => !u.name.startsWith('smbdirect-rdma-')); };

function ctx(vars: Vars, ...mutate: Array<(s: SystemFacts) => void>): TaskContext {
  const facts = loadFixtureFacts('rhel9');
  for (const m of [addEns4, ...mutate]) m(systemOf(facts));
  return { host: 'h1', vars: { inventory_hostname: 'h1', ...vars }, facts, check: false };
}
const changes = (p: Plan): Change[] => (p.status === 'change' ? p.changes : []);
const failMsg = (p: Plan): string => (p.status === 'fail' ? p.msg : `not a failure: ${p.status}`);

t.test('rdma-link, a list of two: two links, two boot units, one modules-load file', async (t) => {
  const p = rdmaLink.plan(ctx(TWO, noLinks));
  t.same(kinds(changes(p)), [
    `file ${unitPath('siw0')}`, `file ${unitPath('siw1')}`, `file ${MODULES_LOAD}`,
    'service smbdirect-rdma-siw0.service enabled=true', 'service smbdirect-rdma-siw1.service enabled=true',
    'command: create RDMA link siw0', 'command: create RDMA link siw1',
  ]);
  const [unit1] = changes(p).filter((c) => c.kind === 'file' && c.path === unitPath('siw1'));
  t.match(unit1, { content: /rdma link add siw1 type siw netdev ens4/ }, 'the second unit creates siw1 on ens4');
  t.match(changes(p).find((c) => c.kind === 'command' && c.desc === 'create RDMA link siw1'), { cmd: 'modprobe siw && rdma link add siw1 type siw netdev ens4', unless: 'rdma dev show siw1' });
  t.match(p.status === 'change' && p.msg, /^siw0 \(siw\) on ens3 \[set by smbdirect_rdma_netdev\[0\]\]; at boot: smbdirect-rdma-siw0\.service; siw1 \(siw\) on ens4 \[set by smbdirect_rdma_netdev\[1\]\]; at boot: smbdirect-rdma-siw1\.service$/);
  t.same(rdmaLink.reads!(TWO, 'h1'), [unitPath('siw0'), unitPath('siw1'), MODULES_LOAD]);
  const rxe = rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_mode: 'rxe' }, noLinks));
  t.same(changes(rxe).filter((c) => c.kind === 'command').map((c) => (c as { cmd: string }).cmd),
    ['modprobe rdma_rxe && rdma link add rxe0 type rxe netdev ens3', 'modprobe rdma_rxe && rdma link add rxe1 type rxe netdev ens4'], 'rxe: rxe0, rxe1');
  const named = rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_link_name: ['siw_a', 'siw_b'] }, noLinks));
  t.match(changes(named).filter((c) => c.kind === 'command'), [{ desc: 'create RDMA link siw_a' }, { desc: 'create RDMA link siw_b' }], 'names from the list, in order');
});

t.test('rdma-link, a list of two: one link there creates only the other; both there and written, nothing', async (t) => {
  const half = rdmaLink.plan(ctx(TWO));
  t.same(kinds(changes(half)).filter((k) => !k.startsWith('file')), ['service smbdirect-rdma-siw1.service enabled=true', 'command: create RDMA link siw1'], 'siw0 exists and its unit is enabled');
  t.match(half.status === 'change' && half.msg, /siw0 \(siw\) on ens3 .* exists, ACTIVE.*; siw1 \(siw\) on ens4 .*smbdirect-rdma-siw1\.service$/);
  const c = ctx(TWO, addSiw1);
  for (const path of rdmaLink.reads!(c.vars, 'h1')) c.facts.files[path] = { path, exists: false };
  const first = planPlay([rdmaLink], c.facts, c.vars, 'h1', false);
  t.same(kinds(first[0]!.changes), [`file ${unitPath('siw0')}`, `file ${unitPath('siw1')}`, `file ${MODULES_LOAD}`], 'the first run writes the files only');
  const facts = converge(c.facts, first);
  const [again] = planPlay([rdmaLink], facts, c.vars, 'h1', false);
  t.same([again!.status, again!.changes], ['ok', []], 'a second run: no change');
});

t.test('rdma-link, a list: each link on the wrong netdev refused as a single one is; a bad netdev named by its index', async (t) => {
  const swapped = failMsg(rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_netdev: ['ens4', 'ens3'] })));
  t.match(swapped, /^RDMA device siw0 already exists \(iwarp on ens3\), not siw on ens4: delete it/);
  t.match(swapped, /; ens3 already has the siw device siw0: set smbdirect_rdma_link_name: siw0/, 'the second link\'s problem too');
  t.match(failMsg(rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_netdev: ['ens3', 'eth9'] }))),
    /^smbdirect_rdma_netdev\[1\] "eth9" is not an interface of this host; set smbdirect_rdma_netdev to the interfaces .* \(here: ens3 10\.0\.0\.31\/24, ens4 10\.0\.1\.31\/24\)$/);
  t.match(failMsg(rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_netdev: ['ens3', 'lo'] }))), /^smbdirect_rdma_netdev\[1\] is lo: RDMA cannot use the loopback interface/);
  t.match(failMsg(rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_netdev: ['ens3', 'ens3'] }))), /^smbdirect_rdma_netdev = \["ens3","ens3"\]: "ens3" is listed twice/);
  t.throws(() => rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_link_name: 'siw0' })), /smbdirect_rdma_link_name = "siw0": 1 name\(s\) for the 2 interface\(s\) of smbdirect_rdma_netdev; give one name per interface.*\(siw0, siw1\)/);
  t.throws(() => rdmaLink.plan(ctx({ ...TWO, smbdirect_rdma_link_name: ['siw0', 'siw0'] })), /the names must differ/);
  t.same(rdmaLink.reads!({ ...TWO, smbdirect_rdma_link_name: ['a'] }, 'h1'), [], 'reads() does not throw: validate reports it');
});

t.test('teardown: both links and both units; then nothing', async (t) => {
  const v: Vars = { smbdirect_role: 'server', smbdirect_rdma_netdev: ['ens3', 'ens4'] };
  const file = { content: 'x\n', mode: '0644', owner: 'root', group: 'root' };
  const facts = factsFor('rhel9', [teardownServer], v, 'srv1', { [unitPath('siw0')]: file, [unitPath('siw1')]: file, [MODULES_LOAD]: file });
  addEns4(sys(facts));
  addSiw1(sys(facts));
  sys(facts).rdma.cmIds = [];
  const [p] = plan([teardownServer], facts, v, 'srv1');
  const rdma = kinds(p!.changes).filter((k) => /siw|rdma/.test(k));
  t.same(rdma, [
    'command: delete RDMA link siw0', 'command: delete RDMA link siw1',
    'service smbdirect-rdma-siw0.service stopped', 'service smbdirect-rdma-siw0.service enabled=false',
    'service smbdirect-rdma-siw1.service stopped', 'service smbdirect-rdma-siw1.service enabled=false',
    `absent ${unitPath('siw0')}`, `absent ${unitPath('siw1')}`, `absent ${MODULES_LOAD}`,
  ]);
  t.same(teardownServer.reads!(v, 'srv1').filter((r) => r.includes('smbdirect-rdma')), [MODULES_LOAD, unitPath('siw0'), unitPath('siw1')]);
  const after = converge(facts, [p!]);
  const s = sys(after);
  s.rdma.devices = [];
  s.services.units = s.services.units.filter((u) => !u.name.startsWith('smbdirect-rdma-'));
  s.services.ksmbdRunning = false;
  Object.assign(s.services.units.find((u) => u.name === 'ksmbd.service') ?? {}, { active: 'inactive', enabled: 'disabled' });
  const [again] = plan([teardownServer], after, v, 'srv1');
  t.same([again!.status, again!.changes], ['ok', []], 'a second teardown: no change');
});

t.test('teardown: a held link of two is kept (per link), the other deleted', async (t) => {
  const v: Vars = { smbdirect_role: 'server', smbdirect_rdma_netdev: ['ens3', 'ens4'] };
  const facts = factsFor('rhel9', [teardownServer], v, 'srv1');
  addEns4(sys(facts));
  addSiw1(sys(facts));
  // The fixture's cifs connection on siw0, its unit already gone (a teardown ran): kept; siw1 is free.
  const [p] = plan([teardownServer], facts, v, 'srv1');
  t.same(kinds(p!.changes).filter((k) => k.startsWith('command: delete')), ['command: delete RDMA link siw1']);
  t.match(p!.warnings, [/^RDMA link siw0 kept: 1 cifs RDMA connection \(CONNECT\) still holds it/]);
});

t.test('teardown with a bad list of link names: facts are still gathered, the plan fails saying what to fix', async (t) => {
  const v: Vars = { smbdirect_role: 'server', smbdirect_rdma_netdev: ['ens3', 'ens4'], smbdirect_rdma_link_name: ['siw0'] };
  t.same(teardownServer.reads!(v, 'srv1').filter((r) => r.includes('smbdirect-rdma')), [MODULES_LOAD]);
  const [p] = plan([teardownServer], factsFor('rhel9', [teardownServer], v, 'srv1'), v, 'srv1');
  t.match(p, { status: 'fail', msg: /smbdirect_rdma_link_name = \["siw0"\]: 1 name\(s\) for the 2 interface\(s\)/ });
});

const linkRows = (checks: Check[] | undefined) => (checks ?? []).filter((c) => c.name.startsWith('RDMA link'));

t.test('verify, two links: still one "RDMA link" and one "RDMA link at boot" check (one matrix column each)', async (t) => {
  const ok = verify.plan(ctx(TWO, addSiw1));
  t.same(linkRows(ok.checks), [
    { name: 'RDMA link', status: 'PASS', detail: 'siw0 (iwarp) on ens3, ACTIVE; siw1 (iwarp) on ens4, ACTIVE' },
    { name: 'RDMA link at boot', status: 'PASS', detail: 'smbdirect-rdma-siw0.service enabled, active; smbdirect-rdma-siw1.service enabled, active' },
  ]);
  const missing = verify.plan(ctx(TWO));
  t.same(linkRows(missing.checks), [
    { name: 'RDMA link', status: 'FAIL', detail: 'no RDMA link siw1 (devices: siw0 (iwarp) on ens3, ACTIVE): run the rdma-link task, or systemctl start smbdirect-rdma-siw1.service; siw0 (iwarp) on ens3, ACTIVE' },
    { name: 'RDMA link at boot', status: 'FAIL', detail: 'smbdirect-rdma-siw1.service is not installed: the link will not come back after a reboot (run the rdma-link task); smbdirect-rdma-siw0.service enabled, active' },
  ], 'the failing link first, the good one still listed');
  const wrong = verify.plan(ctx({ ...TWO, smbdirect_rdma_netdev: ['ens3', 'ens4'] }, (s) => { addSiw1(s); s.rdma.devices.find((d) => d.name === 'siw1')!.netdev = 'ens3'; }));
  t.match(linkRows(wrong.checks)[0], { status: 'FAIL', detail: /^siw1 \(iwarp\) on ens3, ACTIVE, expected on ens4; siw0/ });
  const one = verify.plan(ctx({ smbdirect_role: 'client' }));
  t.same(linkRows(one.checks).map((c) => [c.name, c.status, c.detail]), [['RDMA link', 'PASS', 'siw0 (iwarp) on ens3, ACTIVE'], ['RDMA link at boot', 'PASS', 'smbdirect-rdma-siw0.service enabled, active']], 'a single link as before');
});

t.test('preflight: each interface of the list must be usable; every planned link counts for the device mix', async (t) => {
  t.match(failMsg(preflight.plan(ctx({ ...TWO, smbdirect_role: 'server', smbdirect_rdma_netdev: ['ens3', 'eth9'] }))), /smbdirect_rdma_netdev\[1\] "eth9" is not an interface of this host/);
  const mixed = preflight.plan(ctx({ ...TWO, smbdirect_role: 'server', smbdirect_rdma_mode: 'rxe' }, noLinks, (s) => {
    s.rdma.devices.push({ name: 'siw9', port: 1, nodeType: 'iwarp', linkLayer: 'Ethernet', netdev: 'ens3', state: 'ACTIVE', physicalState: 'LINK_UP' });
  }));
  t.match(failMsg(mixed), /IB\/RoCE: rxe0, rxe1 \(smbdirect_rdma_mode rxe would create them\)/);
});

t.test('preflight: RDMA interfaces of a list sharing a subnet get a warning (the second channel would not use the second NIC)', async (t) => {
  const own = preflight.plan(ctx(TWO));
  t.notMatch(JSON.stringify(own.warnings ?? []), /own subnet/, 'ens3 10.0.0.31/24 and ens4 10.0.1.31/24: no warning');
  t.not(own.status, 'fail');
  const shared = preflight.plan(ctx(TWO, (s) => { s.net.netdevs.find((d) => d.name === 'ens4')!.addrs = [{ family: 'inet', address: '10.0.0.32', prefix: 24 }]; }));
  t.match(shared.warnings, [/^smbdirect_rdma_netdev: ens3 and ens4 are both in 10\.0\.0\.0\/24: .*give each RDMA NIC its own subnet$/]);
});
