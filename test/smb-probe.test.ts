// src/smb/probe.ts: the throughput probe's output read back, on real captured output
// (test/fixtures/probe/README.md says how each file was made).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ddRate, fioRate, parseProbeOutput, probeTable, probeVars, probeVerdict, type MountProbe } from '../src/smb/probe.js';

const fx = (name: string): string => readFileSync(new URL(`fixtures/probe/${name}`, import.meta.url), 'utf8');
const lines = (name: string): string[] => fx(name).split('\n');
const MOUNT: MountProbe = { host: 'c1', path: '/mnt/data', server: 'srv1', share: 'data', sizeMiB: 8, tool: 'auto' };
const verdict = (stdout: string, code = 0) => probeVerdict(MOUNT, { code, stdout }, 76);

t.test('dd: the rate from its summary line (coreutils 9.1, busybox form)', async (t) => {
  // "16777216 bytes (17 MB, 16 MiB) copied, 0.0629611 s, 266 MB/s"
  t.equal(Math.round(ddRate(lines('dd-write.txt'))!), 266);
  t.equal(Math.round(ddRate(lines('dd-read.txt'))!), 580);
  t.equal(ddRate(['67108864 bytes (64.0MB) copied, 0.500000 seconds, 128.0MB/s']), 67108864 / 0.5 / 1e6);
  t.equal(ddRate(lines('dd-fail.txt')), undefined, 'a failed dd has no rate');
  t.equal(ddRate(['0 bytes copied, 0 s, ?']), undefined, 'no division by zero');
});

t.test('fio: bw_bytes of the first job, in the direction asked', async (t) => {
  t.equal(fioRate(lines('fio-write.json'), 'write'), 316551245 / 1e6);
  t.equal(fioRate(lines('fio-read.json'), 'read'), 453438270 / 1e6);
  t.equal(fioRate(lines('fio-write.json'), 'read'), undefined, 'a write job has no read bandwidth');
  t.equal(fioRate(lines('fio-fail.err'), 'write'), undefined, 'an error message is no JSON');
  t.equal(fioRate(['{"jobs": ['], 'read'), undefined, 'cut-short JSON');
});

t.test('the script output of a whole run (dd): rates, CPU, ratio', async (t) => {
  const o = parseProbeOutput(fx('script-dd.txt'));
  t.equal(o.mode, 'run');
  t.ok(o.rdma && o.done);
  t.equal(o.cleanup, 'ok');
  t.equal(o.tool, 'dd');
  t.equal(o.hz, 100);
  t.same(Object.keys(o.transfers).sort(), ['rdma read', 'rdma write', 'tcp read', 'tcp write']);
  const v = verdict(fx('script-dd.txt'));
  if (!('measure' in v)) throw new Error(`no measure: ${JSON.stringify(v)}`);
  const m = v.measure;
  t.equal(m.tool, 'dd');
  t.equal(m.rdma.writeMBps, Math.round(ddRate(o.transfers['rdma write']!.err)! * 100) / 100);
  t.equal(m.ratio, Math.round((m.rdma.readMBps / m.tcp.readMBps) * 100) / 100);
  const j = o.transfers['rdma write']!.jiffies! + o.transfers['rdma read']!.jiffies!;
  t.equal(m.rdma.cpuSeconds, Math.round((j / 100) * 100) / 100, 'client CPU: the busy jiffies of both transfers / CLK_TCK');
  t.same({ host: m.host, path: m.path, server: m.server, share: m.share, sizeMiB: m.sizeMiB }, { host: 'c1', path: '/mnt/data', server: 'srv1', share: 'data', sizeMiB: 8 });
});

t.test('the script output of a whole run (fio)', async (t) => {
  const v = verdict(fx('script-fio.txt'));
  if (!('measure' in v)) throw new Error(`no measure: ${JSON.stringify(v)}`);
  t.equal(v.measure.tool, 'fio');
  for (const x of [v.measure.rdma, v.measure.tcp]) t.ok(x.writeMBps > 0 && x.readMBps > 0 && x.cpuSeconds !== undefined);
});

t.test('refusals and failures are worded, with the failing command\'s output', async (t) => {
  const head = 'probe 1 run\nmount rdma\n';
  const why = (stdout: string, code = 3) => {
    const v = verdict(stdout, code);
    return 'why' in v ? v.why : `not a failure: ${JSON.stringify(v)}`;
  };
  t.match(why('probe 1 run\nfail not-mounted\ncleanup ok\n'), /^not mounted \(nothing written/);
  t.match(why('probe 1 run\nfail no-rdma\ncleanup ok\n'), /^mounted without rdma/);
  t.match(why(`${head}free 100 192\nfail space 100 192\ncleanup ok\n`), /refused: the share has 100 MiB free, the probe needs 192 MiB \(2 x 8 MiB \+ 64 MiB margin\)/);
  t.match(why(`${head}err df\n| df: /mnt/data: Host is down\nfail df 1\ncleanup ok\n`), /^df failed \(exit 1.*: df: \/mnt\/data: Host is down/);
  t.match(why(`${head}free 900 192\ntool dd\nhz 100\nerr tcp mount\n| mount error(13): Permission denied\nfail tcp-mount 32\ncleanup ok\n`),
    /temporary TCP mount .* of share data on srv1 failed \(exit 32\): mount error\(13\): Permission denied/);
  const ddFail = `${head}free 900 192\ntool dd\nhz 100\ncpu rdma write start 1 0 1 0 0\ncpu rdma write end 2 0 1 0 0\nout rdma write 1\nerr rdma write\n| ${fx('dd-fail.txt').trim()}\nfail xfer rdma write 1\ncleanup ok\n`;
  t.match(why(ddFail), /rdma write failed \(exit 1\): dd: failed to open/);
  t.match(why(`${head}fail no-fio\ncleanup ok\n`), /fio is not installed/);
  t.match(why(`${head}free 900 192\ntool dd\ncpu rdma write start 1 0 1 0 0\nsignal TERM\ncleanup ok\n`, 124), /interrupted \(SIGTERM\) by the probe's time limit \(76 s.*during rdma write/);
  t.match(why(`${head}free 900 192\ntool dd\nhz 100\nsignal INT\ncleanup left /mnt/data/.smbdirect-probe.ab.rdma\n`, 130), /interrupted \(SIGINT\).*LEFT BEHIND \(remove by hand\): \/mnt\/data\/\.smbdirect-probe\.ab\.rdma/);
  t.match(why('', 0), /did not start/);
  t.match(why(`${head}free 900 192\n`, 2), /ended early \(exit 2\)/);
  const v = probeVerdict(MOUNT, undefined, 76);
  t.match('why' in v ? v.why : '', /did not run/);
});

t.test('a full run whose cleanup left something fails, naming it', async (t) => {
  const v = verdict(fx('script-dd.txt').replace('cleanup ok', 'cleanup left /run/smbdirect-probe.Ab12Cd/mnt(mounted)'));
  t.match('why' in v ? v.why : '', /measured, but the cleanup failed; LEFT BEHIND.*\/run\/smbdirect-probe\.Ab12Cd\/mnt\(mounted\)/);
});

t.test('check mode output: what it found, nothing measured', async (t) => {
  const v = verdict('probe 1 check\nmount rdma\nfree 900 192\ntool fio\nhz 100\nchecked\ncleanup ok\n');
  t.same(v, { ok: true, checked: 'mounted with rdma, 900 MiB free (needs 192), would use fio: check mode, nothing written' });
});

t.test('the report table: a row per mount, failed ones marked', async (t) => {
  const v = verdict(fx('script-dd.txt'));
  if (!('measure' in v)) throw new Error('no measure');
  const table = probeTable([{ path: '/mnt/data', measure: v.measure }, { path: '/mnt/other', note: 'failed' }]);
  const [head, row, failed] = table.split('\n');
  t.match(head, /^mount\s+tool\s+RDMA write\s+RDMA read\s+TCP write\s+TCP read\s+RDMA\/TCP read\s+client CPU s RDMA\/TCP$/);
  t.match(row, new RegExp(`^/mnt/data\\s+dd\\s+${v.measure.rdma.writeMBps.toFixed(1)}\\s+${v.measure.rdma.readMBps.toFixed(1)}\\s+.*${v.measure.ratio.toFixed(2)}x`));
  t.match(failed, /^\/mnt\/other\s+failed$/);
});

t.test('vars: size and tool, with the var and host named', async (t) => {
  t.same(probeVars({}, 'c1'), { sizeMiB: 64, tool: 'auto' });
  t.same(probeVars({ smbdirect_probe_size_mib: '16', smbdirect_probe_tool: 'dd' }, 'c1'), { sizeMiB: 16, tool: 'dd' }, '-e gives strings');
  for (const bad of [0, -1, 1.5, 'abc', '', true, 65537, null]) {
    const r = probeVars({ smbdirect_probe_size_mib: bad }, 'c1');
    if (bad === null) { t.same(r, { sizeMiB: 64, tool: 'auto' }, 'null is unset'); continue; }
    t.match('error' in r ? r.error : '', /^smbdirect_probe_size_mib on c1: must be a whole number of MiB from 1 to 65536, found /, `refuses ${JSON.stringify(bad)}`);
  }
  const r = probeVars({ smbdirect_probe_tool: 'iperf' }, 'c1');
  t.equal('error' in r ? r.error : '', 'smbdirect_probe_tool on c1: must be auto, fio or dd, found "iperf"');
});

t.test('the probe\'s ID: read from its "id" line into the measure (the server\'s figures are matched by it)', async (t) => {
  const out = fx('script-dd.txt').replace('\ncpu rdma write start', '\nid 0a1b2c3d4e5f\ncpu rdma write start');
  t.equal(parseProbeOutput(out).id, '0a1b2c3d4e5f');
  const v = verdict(out);
  t.equal('measure' in v ? v.measure.id : 'none', '0a1b2c3d4e5f');
  const old = verdict(fx('script-dd.txt'));
  t.ok('measure' in old && !('id' in old.measure), 'output without an id line: no id');
  t.equal(parseProbeOutput('id ../x\n').id, undefined, 'only hex');
});
