// tasks/smbdirect/probe-server-start.ts and -collect.ts: their probes (the share directories from
// ksmbd_shares, the time limit from the probe size, --check) and their plans from probe output
// (always 0 changes; a sampler that cannot start is a warning, not a failure), the measures in
// --json, and playbooks/probe.yml running them around the client play.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { YAML } from 'zx';
import { JsonReporter } from '../src/engine/output.js';
import { planPlay } from '../src/engine/plan.js';
import type { Facts, ProbeCommand, TaskResult, Vars } from '../src/types.js';
import collect, { COLLECT_PROBE } from '../tasks/smbdirect/probe-server-collect.js';
import start, { samplerIdleS, START_PROBE } from '../tasks/smbdirect/probe-server-start.js';
import { CLUSTER } from './helpers/smb-plan.js';

const fx = readFileSync(new URL('fixtures/probe/sampler-collect.txt', import.meta.url), 'utf8');
const vars = (extra: Vars = {}): Vars => ({
  smbdirect_role: 'server',
  smbdirect_cluster: CLUSTER,
  ksmbd_users: [{ name: 'alice', password_env: 'SMBT_PROBE_SRV_PW' }],
  ksmbd_shares: [{ name: 'data', path: '/srv/data' }, { name: 'my share', path: '/srv/my share' }],
  ...extra,
});
const facts = (probes: Record<string, { stdout: string; code?: number }>): Facts => ({
  system: {}, files: {}, probes: Object.fromEntries(Object.entries(probes).map(([k, v]) => [k, { code: v.code ?? 0, stdout: v.stdout }])),
});
const script = (p: ProbeCommand | undefined): string => (typeof p === 'object' ? p.script : p ?? '');

t.test('start probe: the share directories quoted, the idle limit from the size, --check as it is', async (t) => {
  const p = start.probes!(vars({ smbdirect_probe_size_mib: 8 }), 'srv1', false);
  t.same(Object.keys(p), [START_PROBE]);
  const s = script(p[START_PROBE]);
  t.match(s, "set -- /srv/data '/srv/my share'\n");
  t.match(s, `IDLE=${60 + 16 + 120}; MODE=run;`);
  t.equal(samplerIdleS(64), 60 + 128 + 120, 'the client probe\'s time limit + 120 s');
  t.equal((p[START_PROBE] as { timeoutS: number }).timeoutS, 30, 'the start itself is quick');
  t.match(script(start.probes!(vars(), 'srv1', true)[START_PROBE]), /; MODE=check;/);
  t.same(start.probes!(vars({ ksmbd_shares: [] }), 'srv1'), {}, 'no share: no probe');
  t.same(start.probes!(vars({ smbdirect_probe_size_mib: -1 }), 'srv1'), {}, 'bad size: no probe (the plan says why)');
});

t.test('start plan: started, check mode, warned when it cannot start; never a change', async (t) => {
  const plan = (f: Facts, v = vars(), check = false) => planPlay([start], f, v, 'srv1', check)[0]!;
  const ok = plan(facts({ [START_PROBE]: { stdout: 'sampler 1 run\nshare /srv/data\nmissing /srv/my share\nstarted 4242 308\n' } }));
  t.same([ok.status, ok.changes, ok.warnings], ['ok', [], []]);
  t.equal(ok.msg, 'sampler started (PID 4242, ends after 308 s without a probe marker): watching /srv/data; not there (not watched): /srv/my share');
  const checked = plan(facts({ [START_PROBE]: { stdout: 'sampler 1 check\nshare /srv/data\nshare /srv/my share\nchecked\n' } }), vars(), true);
  t.equal(checked.msg, 'check mode, nothing started: would watch /srv/data, /srv/my share');
  const busy = plan(facts({ [START_PROBE]: { stdout: 'sampler 1 run\nshare /srv/data\nfail busy 77\n', code: 3 } }));
  t.equal(busy.status, 'ok', 'the client probe goes on without server figures');
  t.match(busy.warnings, [/^server CPU will not be measured: a sampler of another probe run is still running \(PID 77\)/]);
  t.match(plan(facts({})).warnings, [/the start probe did not run/]);
  t.same([plan(facts({}), vars({ ksmbd_shares: [] })).status, plan(facts({}), vars({ ksmbd_shares: [] })).msg], ['skip', 'no ksmbd_shares on this host: no share to watch']);
  t.equal(plan(facts({}), vars({ ksmbd_shares: 'x' })).status, 'skip', 'invalid vars: skipped, the verify playbook says why');
  t.equal(plan(facts({}), vars({ smbdirect_probe_size_mib: 0 })).status, 'fail');
});

t.test('collect: its probe only outside --check; the plan reports per client, shares the overlap, carries the measures', async (t) => {
  t.same(Object.keys(collect.probes!(vars(), 'srv1', false)), [COLLECT_PROBE]);
  t.same(collect.probes!(vars(), 'srv1', true), {});
  const plan = (f: Facts, check = false) => planPlay([collect], f, vars(), 'srv1', check)[0]!;
  const p = plan(facts({ [COLLECT_PROBE]: { stdout: fx } }));
  t.same([p.status, p.changes], ['ok', []]);
  t.equal(p.msg, 'cli01:/mnt/data: server CPU RDMA 1.40 s / TCP 2.95 s (ksmbd threads 0.51 / 1.01 s)');
  t.match(p.report, /^client\s+mount\s+probe id.*\ncli01\s+\/mnt\/data\s+3f9a0c11d2e4\s+1\.40\/2\.95/);
  t.match(p.data?.serverProbe, [{ server: 'srv1', id: '3f9a0c11d2e4', client: 'cli01', concurrent: 1 }]);
  const two = fx.replace('| who', '| mark 77aa tcp-read start 1 0 0 0 0 ksmbd\n| mark 77aa tcp-read end 2 0 0 0 0 ksmbd\n| who');
  const shared = plan(facts({ [COLLECT_PROBE]: { stdout: two } }));
  t.match(shared.msg, /\nserver CPU is host-wide: 2 clients probed at once \(--forks 1 measures one at a time\)$/);
  t.same(shared.warnings, ['server CPU is host-wide: 2 clients probed at once (--forks 1 measures one at a time)']);
  t.match(plan(facts({ [COLLECT_PROBE]: { stdout: 'collect 1\nnone\n' } })).msg, /^no sampler was running/);
  t.match(plan(facts({ [COLLECT_PROBE]: { stdout: 'collect 1\nout\n| begin 100\n| stopped\ncleanup ok\n' } })).msg, /^the sampler saw no probe marker/);
  const left = plan(facts({ [COLLECT_PROBE]: { stdout: 'collect 1\nout\ncleanup left /run/smbdirect-probe-sampler\n' } }));
  t.same([left.status, left.msg], ['fail', 'LEFT BEHIND (remove by hand): /run/smbdirect-probe-sampler']);
  t.equal(plan(facts({}), true).msg, 'check mode: no sampler was started, nothing to collect');
});

t.test('--json carries the server measures as server_probe', async (t) => {
  const p = planPlay([collect], facts({ [COLLECT_PROBE]: { stdout: fx } }), vars(), 'srv1', false)[0]!;
  const r: TaskResult = { host: 'srv1', task: collect.name, status: 'ok', msg: p.msg, ...p.data };
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => { lines.push(s); return true; }) as typeof process.stdout.write;
  try { new JsonReporter().result(r); } finally { process.stdout.write = write; }
  t.match(JSON.parse(lines.join('')), { server_probe: [{ id: '3f9a0c11d2e4', rdma: { cpuSeconds: 1.4 } }] });
});

t.test('playbooks/probe.yml: the sampler starts before the client play and is collected after it, on the servers', async (t) => {
  const plays = YAML.parse(readFileSync(new URL('../playbooks/probe.yml', import.meta.url), 'utf8')) as Array<{ hosts: string; tasks: string[] }>;
  t.same(plays.map((p) => [p.hosts, p.tasks.at(-1)]), [
    ['smb_servers', 'smbdirect/probe-server-start'], ['smb_clients', 'smbdirect/probe'], ['smb_servers', 'smbdirect/probe-server-collect'],
  ]);
});
