// tasks/smbdirect/probe.ts: its probes (one per mount, own time limit, check flag, no secret) and
// its plan from probe output (real captured script output, test/fixtures/probe/), and the engine
// carrying the measures to the result and --json.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { factsScript } from '../src/facts/index.js';
import { gatherFacts } from '../src/engine/host-play.js';
import { JsonReporter } from '../src/engine/output.js';
import { planPlay } from '../src/engine/plan.js';
import { CREDENTIALS_DIR } from '../src/smb/credentials.js';
import type { Connection, Facts, ProbeCommand, TaskResult, Vars } from '../src/types.js';
import probe, { probeName } from '../tasks/smbdirect/probe.js';
import { CLUSTER } from './helpers/smb-plan.js';

const PW = 'pr0be-secret-pw';
process.env.SMBT_PROBE_PW = PW;
const fx = (name: string): string => readFileSync(new URL(`fixtures/probe/${name}`, import.meta.url), 'utf8');

const vars = (extra: Vars = {}): Vars => ({
  smbdirect_role: 'client',
  smbdirect_cluster: CLUSTER,
  ksmbd_users: [{ name: 'alice', password_env: 'SMBT_PROBE_PW' }],
  smb_mounts: [
    { server: 'srv1', share: 'data', path: '/mnt/data', user: 'alice', options: ['cache=none'] },
    { server: 'srv1', share: 'share', path: '/mnt/share', user: 'alice' },
  ],
  ...extra,
});
const facts = (probes: Record<string, string | { stdout: string; code: number }>): Facts => ({
  system: {},
  files: {},
  probes: Object.fromEntries(Object.entries(probes).map(([k, v]) => [probeName(k), typeof v === 'string' ? { code: 0, stdout: v } : v])),
});
const planned = (v: Vars, f: Facts, check = false) => planPlay([probe], f, v, 'c1', check)[0]!;
const script = (p: ProbeCommand | undefined): string => (typeof p === 'object' ? p.script : p ?? '');

t.test('probes: one per mount, a time limit by size, the check flag, no secret', async (t) => {
  const p = probe.probes!(vars(), 'c1', false);
  t.same(Object.keys(p).sort(), [probeName('/mnt/data'), probeName('/mnt/share')]);
  const data = p[probeName('/mnt/data')] as { script: string; timeoutS: number };
  t.equal(data.timeoutS, 60 + 64 * 2, 'default 64 MiB');
  t.match(data.script, /; SIZE=64; NEED=192; TOOL=auto; MODE=run;/);
  t.match(data.script, /; CLIENT=c1; /, 'the client names itself in its start markers (the server\'s report)');
  t.match(data.script, `mount -t cifs -o vers=3.1.1,credentials=${CREDENTIALS_DIR}/srv1@alice,cache=none,nosharesock //10.0.0.11/data "$W/mnt"`);
  const mountLine = data.script.split('\n').find((l) => l.includes('mount -t cifs'))!;
  t.notMatch(mountLine, /rdma|_netdev|nofail/, 'the TCP mount is without rdma and the fstab-only options');
  t.notOk(Object.values(p).some((x) => script(x).includes(PW)), 'no password in any probe');
  const c = probe.probes!(vars({ smbdirect_probe_size_mib: 8, smbdirect_probe_tool: 'dd' }), 'c1', true);
  t.match(script(c[probeName('/mnt/share')]), /; SIZE=8; NEED=80; TOOL=dd; MODE=check;/);
  t.equal((c[probeName('/mnt/share')] as { timeoutS: number }).timeoutS, 76);
  t.same(probe.probes!(vars({ smbdirect_probe_size_mib: 'x' }), 'c1'), {}, 'bad vars: no probe (the plan says why)');
  t.same(probe.probes!(vars({ smb_mounts: [{ server: 'nope' }] }), 'c1'), {}, 'invalid mounts: no probe, no throw');
});

t.test('the facts script gives a probe with its own time limit that limit', async (t) => {
  const s = factsScript({ reads: [], probes: { a: 'echo a', b: { script: 'echo b', timeoutS: 188 } }, system: false });
  t.match(s, /\npr 0 'echo a'\npr 1 'echo b' 188\n/);
  t.throws(() => factsScript({ reads: [], probes: { b: { script: 'echo b', timeoutS: 0 } }, system: false }), /timeoutS must be a positive integer/);
});

t.test('plan: ok with the figures, a table and the measures; never a change', async (t) => {
  const p = planned(vars({ smbdirect_probe_size_mib: 8 }), facts({ '/mnt/data': fx('script-dd.txt'), '/mnt/share': fx('script-fio.txt') }));
  t.equal(p.status, 'ok');
  t.same(p.changes, []);
  t.match(p.msg, /^\/mnt\/data: RDMA write [\d.]+ \/ read [\d.]+ MB\/s, TCP write [\d.]+ \/ read [\d.]+ MB\/s, read [\d.]+x \(8 MiB, dd\)\n\/mnt\/share: .*\(8 MiB, fio\)$/);
  t.match(p.report, /^mount\s+tool.*\n\/mnt\/data\s+dd\s+.*\n\/mnt\/share\s+fio\s+/);
  t.same(p.data!.probe!.map((m) => [m.host, m.path, m.server, m.share, m.sizeMiB, m.tool]), [['c1', '/mnt/data', 'srv1', 'data', 8, 'dd'], ['c1', '/mnt/share', 'srv1', 'share', 8, 'fio']]);
  t.ok(p.data!.probe!.every((m) => m.ratio > 0 && m.rdma.cpuSeconds !== undefined && m.tcp.readMBps > 0));
});

t.test('plan: a failing mount fails the task, with its reason; the others still measured', async (t) => {
  const p = planned(vars({ smbdirect_probe_size_mib: 8 }), facts({
    '/mnt/data': fx('script-dd.txt'),
    '/mnt/share': { code: 3, stdout: 'probe 1 run\nmount rdma\nfree 50 80\nfail space 50 80\ncleanup ok\n' },
  }));
  t.equal(p.status, 'fail');
  t.match(p.msg, /^\/mnt\/share: refused: the share has 50 MiB free, the probe needs 80 MiB \(2 x 8 MiB \+ 64 MiB margin\): lower smbdirect_probe_size_mib or free space\n\/mnt\/data: RDMA write/);
  t.equal(p.data?.probe?.length, 1);
  t.match(p.report, /\n\/mnt\/share\s+failed/);
  const missing = planned(vars(), facts({}));
  t.match(missing.msg, /^\/mnt\/data: the probe did not run.*\n\/mnt\/share: the probe did not run/);
});

t.test('plan under --check: what each probe found, nothing measured', async (t) => {
  const seen = 'probe 1 check\nmount rdma\nfree 900 192\ntool dd\nhz 100\nchecked\ncleanup ok\n';
  const p = planned(vars(), facts({ '/mnt/data': seen, '/mnt/share': seen }), true);
  t.equal(p.status, 'ok');
  t.equal(p.msg, 'check mode, nothing written or mounted:\n/mnt/data: mounted with rdma, 900 MiB free (needs 192), would use dd: check mode, nothing written\n/mnt/share: mounted with rdma, 900 MiB free (needs 192), would use dd: check mode, nothing written');
  t.equal(p.data?.probe, undefined);
});

t.test('plan: vars refused with the var and host named; no mounts is a skip', async (t) => {
  t.same([planned(vars({ smbdirect_probe_size_mib: 0 }), facts({})).status, planned(vars({ smbdirect_probe_size_mib: 0 }), facts({})).msg],
    ['fail', 'smbdirect_probe_size_mib on c1: must be a whole number of MiB from 1 to 65536, found 0']);
  t.equal(planned(vars({ smbdirect_probe_tool: 'iperf' }), facts({})).msg, 'smbdirect_probe_tool on c1: must be auto, fio or dd, found "iperf"');
  const none = planned(vars({ smb_mounts: [] }), facts({}));
  t.same([none.status, none.msg], ['skip', 'no smb_mounts on this host: nothing to measure']);
});

t.test('--json carries the measures', async (t) => {
  const p = planned(vars({ smbdirect_probe_size_mib: 8 }), facts({ '/mnt/data': fx('script-dd.txt'), '/mnt/share': fx('script-dd.txt') }));
  const r: TaskResult = { host: 'c1', task: probe.name, status: 'ok', msg: p.msg, report: p.report, probe: p.data?.probe };
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => { lines.push(s); return true; }) as typeof process.stdout.write;
  try { new JsonReporter().result(r); } finally { process.stdout.write = write; }
  const o = JSON.parse(lines.join('')) as { probe: Array<{ path: string; ratio: number }> };
  t.same(o.probe.map((m) => m.path), ['/mnt/data', '/mnt/share']);
  t.equal(o.probe[0]!.ratio, p.data!.probe![0]!.ratio);
});

t.test('the engine asks for the probes with --check as it is (check mode: the probe only looks)', async (t) => {
  const sent: string[] = [];
  const conn: Connection = {
    host: 'c1', roundTrips: 0, close: async () => undefined,
    run: async (script) => { sent.push(script); return { code: 0, stdout: '', stdoutBytes: Buffer.from(''), stderr: '' }; },
  };
  const host = { name: 'c1', groups: ['all', 'smb_clients'], vars: vars() };
  for (const check of [true, false]) await gatherFacts(conn, [probe], host, undefined, undefined, undefined, check).catch(() => undefined);
  t.equal(sent.length, 2);
  t.match(sent[0], /MODE=check;/);
  t.notMatch(sent[0], /MODE=run;/);
  t.match(sent[1], /MODE=run;/);
  t.match(sent[1], /' 188\n/, 'the probe goes with its own time limit');
});
