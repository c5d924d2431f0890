// The cluster report in a real browser: `smbdirect run verify --report` on the namespace lab (real
// sshd hosts without RDMA, so verify fails there and the failure list is full), rendered by
// headless Chromium (--dump-dom, --screenshot). The rendered DOM must hold every host row, every
// check column, every failure with its detail, and, on a second page made from the same run's
// --json lines plus one probe result, the chart's bars. Chromium comes from the controller's
// prerequisites ('report-test'); missing and not installable, this test fails, it never skips.
// The pages and screenshots stay in $TMPDIR/smbdirect-report-browser/ (printed as comments).
import t from 'tap';
import { mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrerequisites, onPath } from '../src/prereqs.js';
import { ReportCollector } from '../src/engine/cluster-report.js';
import { renderHtml } from '../src/engine/report-html.js';
import { runCli, runJson, startLab, tmp } from './helpers/lab.js';
import type { Check, HostInfo, TaskResult } from '../src/types.js';
import { measure } from './helpers/report-fixture.js';
import { attrs, chromium, decode } from './helpers/chromium.js';

await ensurePrerequisites(['report-test'], (l) => t.comment(l));
t.ok(await onPath('chromium'), 'chromium is installed');

const OUT = join(tmpdir(), 'smbdirect-report-browser');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
t.comment(`pages and screenshots: ${OUT}/{verify,probe}.{html,png}`);

const lab = await startLab(t, 1, 2);
const dir = tmp('sd-report-inv-');
copyFileSync(lab.inventory, join(dir, 'hosts.yml'));
mkdirSync(join(dir, 'group_vars'));
writeFileSync(join(dir, 'group_vars', 'all.yml'), 'smbdirect_rdma_mode: siw\n');
writeFileSync(join(dir, 'group_vars', 'smb_clients.yml'), `smb_mounts:
  - { server: srv01, share: data, path: /mnt/data, user: alice }
  - { server: srv01, share: "a&b <x>", path: "/mnt/a&b <x>", user: alice }
`);
const inv = join(dir, 'hosts.yml');
const HOSTS = ['srv01', 'cli01', 'cli02'];

const section = (dom: string, open: string) => dom.slice(dom.indexOf(open), dom.indexOf('</table>', dom.indexOf(open)));

const verifyHtml = join(OUT, 'verify.html');
const run = await runCli(['run', 'verify', '-i', inv, '--report', verifyHtml]);
const json = await runJson(['run', 'verify', '-i', inv]);
/** --json task lines: TaskResult's fields, hostInfo spelled host_info. */
const lines = json.results as unknown as Array<TaskResult & { host_info?: HostInfo }>;
const results: TaskResult[] = lines.map(({ host_info, ...r }) => ({ ...r, ...(host_info && { hostInfo: host_info }) }));
const checks = new Map(HOSTS.map((h) => [h, results.filter((r) => r.host === h).flatMap((r) => r.checks ?? [])]));

t.test('the run: verify fails on the lab (no RDMA), the matrix before the recap, the report written', async (t) => {
  t.equal(run.code, 2, run.stderr);
  t.match(run.stderr, `report: ${verifyHtml}`);
  t.match(run.stdout, /CLUSTER MATRIX \*+\nHOST +A B C /);
  for (const h of HOSTS) t.match(run.stdout, new RegExp(`\\n${h} +[-+X ]+ {3}\\d+ failed\\n`), `a matrix row for ${h}`);
  t.ok(run.stdout.indexOf('CLUSTER MATRIX') < run.stdout.indexOf('PLAY RECAP'));
  t.match(run.stdout, /FAILURES \(\d+\):\n/);
  t.comment(run.stdout.slice(run.stdout.indexOf('CLUSTER MATRIX')));
  for (const h of HOSTS) t.ok(checks.get(h)!.some((c: Check) => c.status === 'FAIL'), `--json carries ${h}'s checks, failures among them`);
  t.match(results.find((r) => r.host === 'cli01' && r.hostInfo)?.hostInfo, { kernel: /^\d+\.\d+/, roles: ['client'] });
});

t.test('the browser renders every host, every check column, every failure, the kernels', async (t) => {
  const dom = chromium(t, verifyHtml, join(OUT, 'verify.png'));
  const matrix = section(dom, '<table class="matrix"');
  t.same(attrs(matrix, /tr/, 'data-host'), HOSTS, 'a matrix row per host, in inventory order');
  const columns = attrs(matrix, /th class="c"/, 'title');
  t.same([...columns].sort(), [...new Set([...checks.values()].flat().map((c) => c.name))].sort(), 'a column per check');
  t.ok(columns.includes('mount /mnt/a&b <x>'), 'a name with & and < comes through as text');
  for (const h of HOSTS) {
    const row = matrix.slice(matrix.indexOf(`data-host="${h}"`)).split('</tr>')[0]!;
    const failed = checks.get(h)!.filter((c) => c.status === 'FAIL').map((c) => c.name);
    t.same([...new Set(attrs(row, /td class="c FAIL"/, 'data-check'))].sort(), [...new Set(failed)].sort(), `${h}: the ✗ cells are its failed checks`);
    t.equal((row.match(/✗/g) ?? []).length, new Set(failed).size);
  }
  const items = [...dom.matchAll(/<li data-check="([^"]*)" data-hosts="([^"]*)">[\s\S]*?<span class="detail">([\s\S]*?)<\/span><\/li>/g)]
    .map((m) => ({ check: decode(m[1]!), hosts: decode(m[2]!).split(' '), detail: decode(m[3]!) }));
  for (const [h, cs] of checks) {
    for (const c of cs.filter((x) => x.status === 'FAIL')) {
      t.ok(items.some((i) => i.check === c.name && i.hosts.includes(h) && i.detail === c.detail), `failure listed: ${h}: ${c.name}: ${c.detail.slice(0, 60)}`);
    }
  }
  const kernels = section(dom, '<table class="hosts"');
  t.same(attrs(kernels, /tr/, 'data-host'), HOSTS, 'a kernel/modules row per host');
  t.match(kernels, /cifs: (loaded|available|built-in|missing|unknown)/);
  t.match(dom, /<p class="no-probe">no probe results in this run<\/p>/);
  t.notMatch(dom, /<script/i);
});

t.test('with a probe result, the browser draws two bars per client mount', async (t) => {
  const c = new ReportCollector();
  results.forEach((r) => c.add(r));
  c.add({ host: 'cli01', task: 'smbdirect: probe', status: 'ok', msg: '', probe: [{ ...measure('cli01', '/mnt/data', 1180.5, 402.25), id: 'aa01' }] });
  c.add({ host: 'srv01', task: 'smbdirect: probe, server CPU sampler (collect)', status: 'ok', msg: '', serverProbe: [{ server: 'srv01', id: 'aa01', phases: {}, rdma: { cpuSeconds: 0.42 }, tcp: { cpuSeconds: 1.3 }, concurrent: 1 }] });
  const probeHtml = join(OUT, 'probe.html');
  writeFileSync(probeHtml, renderHtml(c.report()));
  const dom = chromium(t, probeHtml, join(OUT, 'probe.png'));
  const rects = [...dom.matchAll(/<rect class="bar (rdma|tcp)"[^>]*?data-host="(\w+)"[^>]*?data-mbps="([\d.]+)"[^>]*?width="(\d+)"/g)].map((m) => m.slice(1).join(' '));
  t.same(rects, ['rdma cli01 1180.5 380', 'tcp cli01 402.25 129'], 'the RDMA bar spans the scale, TCP in proportion');
  t.match(dom, /RDMA 1180\.5 MB\/s \(×2\.93\)/);
  t.match(dom, /<text class="cpu"[^>]*>CPU s RDMA\/TCP: client -\/-, server 0\.42\/1\.30<\/text>/, 'the server\'s CPU under the bars');
  t.notMatch(dom, /no probe results/);
  t.ok(readFileSync(probeHtml, 'utf8').length > 1000);
});
