// `run --report FILE.html` (src/engine/report-html.ts): one self-contained page, every string
// redacted then escaped, the probe chart when there are probe results, the file written
// atomically, and a bad path refused before any host is contacted.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReportCollector } from '../src/engine/cluster-report.js';
import { esc, renderHtml, reportPathProblem, writeReport } from '../src/engine/report-html.js';
import { registerSecret } from '../src/secrets.js';
import { clusterResults, verifyResult, measure } from './helpers/report-fixture.js';
import { runCli } from './helpers/lab.js';
import type { TaskResult } from '../src/types.js';

const page = (results: TaskResult[]) => {
  const c = new ReportCollector();
  results.forEach((r) => c.add(r));
  return renderHtml(c.report());
};

t.test('esc escapes the five characters', async (t) => {
  t.equal(esc(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  t.equal(esc(3.5), '3.5');
});

t.test('hostile names and details are text, never markup; secrets masked before escaping', async (t) => {
  const secret = 'p<w>"&\'d';
  registerSecret(secret);
  const evil = verifyResult('<script>alert(1)</script>', [{ name: 'mount "/mnt/<x>"', status: 'FAIL', detail: `<img src=x onerror=alert(1)> login ${secret} refused` }]);
  evil.hostInfo!.modules.push({ name: 'cifs', state: 'loaded', path: '/lib/modules/</td><b>x.ko' });
  const html = page([evil]);
  t.notMatch(html, /<script|<img|<\/td><b>/, 'no injected element');
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(html, /mount &quot;\/mnt\/&lt;x&gt;&quot;: <span class="detail">&lt;img src=x onerror=alert\(1\)&gt; login \*{8} refused/);
  t.notOk(html.includes(secret) || html.includes(esc(secret)), 'the secret appears neither raw nor escaped');
});

t.test('self-contained: no script, no external URL, no timestamp; deterministic', async (t) => {
  const html = page(clusterResults());
  t.match(html, /^<!DOCTYPE html>\n/);
  t.notMatch(html, /<script|<link|@import|url\(|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
  t.notMatch(html, /\b20\d\d-\d\d-\d\d[T ]\d\d:/, 'no timestamp');
  t.equal(html, page(clusterResults()), 'the same page twice');
  t.match(html, /<tr data-host="srv01"><th>srv01<\/th><td class="c PASS" data-check="kernel options"/);
  t.match(html, /<li data-check="RDMA link" data-hosts="srv01 cli01"><b>srv01, cli01<\/b>: RDMA link: <span class="detail">no RDMA link siw0/);
  t.match(html, /<td class="mono">6\.1\.0-26-amd64<\/td>/);
  t.match(html, /<span>ksmbd: available <code>\/lib\/modules\/6\.1\.0-26-amd64\/updates\/ksmbd\.ko<\/code>/);
  t.match(html, /<p class="no-probe">no probe results in this run<\/p>/);
  t.match(html, /<tr data-host="cli03"><th>cli03<\/th>(<td class="c" data-check="[^"]+"><\/td>){10}<td>unreachable: ssh: connect timed out<\/td>/);
});

t.test('probe results: two bars per client mount, scaled to the fastest', async (t) => {
  const results = clusterResults();
  results.push({ host: 'cli01', task: 'smbdirect: probe', status: 'ok', msg: '', probe: [measure('cli01', '/mnt/data', 1200, 400)] });
  results.push({ host: 'cli02', task: 'smbdirect: probe', status: 'ok', msg: '', probe: [measure('cli02', '/mnt/data', 600, 500)] });
  const html = page(results);
  t.notMatch(html, /no probe results/);
  const bars = [...html.matchAll(/<rect class="bar (rdma|tcp)" data-host="(\w+)" data-mount="([^"]+)" data-mbps="([\d.]+)" x="\d+" y="\d+" width="(\d+)"/g)].map((m) => m.slice(1).join(' '));
  t.same(bars, ['rdma cli01 /mnt/data 1200 380', 'tcp cli01 /mnt/data 400 127', 'rdma cli02 /mnt/data 600 190', 'tcp cli02 /mnt/data 500 158']);
  t.match(html, /RDMA 1200 MB\/s \(×3\.00\)/);
});

t.test('probe results: the CPU line under each bar pair, the server\'s matched by probe ID, "-" where not read', async (t) => {
  const results = clusterResults();
  results.push({ host: 'cli01', task: 'smbdirect: probe', status: 'ok', msg: '', probe: [
    { ...measure('cli01', '/mnt/data', 1200, 400), id: 'aa01', rdma: { writeMBps: 1200, readMBps: 1200, cpuSeconds: 0.5 }, tcp: { writeMBps: 400, readMBps: 400, cpuSeconds: 1.25 } },
    { ...measure('cli01', '/mnt/old', 900, 300), id: 'ff99' },
  ] });
  results.push({ host: 'cli02', task: 'smbdirect: probe', status: 'ok', msg: '', probe: [{ ...measure('cli02', '/mnt/data', 600, 500), id: 'bb02' }] });
  results.push({ host: 'srv01', task: 'smbdirect: probe, server CPU sampler (collect)', status: 'ok', msg: '', serverProbe: [
    { server: 'srv01', id: 'aa01', phases: {}, rdma: { cpuSeconds: 0.4 }, tcp: { cpuSeconds: 0.9 }, concurrent: 1 },
    { server: 'srv01', id: 'bb02', phases: {}, rdma: { cpuSeconds: 0.75 }, concurrent: 2 },
    { server: 'srv02', id: 'ff99', phases: {}, rdma: { cpuSeconds: 9 }, concurrent: 1 },
  ] });
  const cpu = [...page(results).matchAll(/<text class="cpu" data-host="(\w+)" data-mount="([^"]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => m.slice(1).join(' '));
  t.same(cpu, [
    'cli01 /mnt/data CPU s RDMA/TCP: client 0.50/1.25, server 0.40/0.90',
    'cli01 /mnt/old CPU s RDMA/TCP: client -/-, server -/-',
    'cli02 /mnt/data CPU s RDMA/TCP: client -/-, server 0.75/- (host-wide: 2 clients probed at once)',
  ], 'an ID measured on another server is not taken');
});

t.test('the path: problems said before the run, the file replaced whole', async (t) => {
  const dir = t.testdir({ sub: {} });
  t.equal(reportPathProblem(join(dir, 'r.html')), undefined);
  t.equal(reportPathProblem(join(dir, 'nope', 'r.html')), `directory ${join(dir, 'nope')} does not exist`);
  t.equal(reportPathProblem(join(dir, 'sub')), `${join(dir, 'sub')} is a directory`);
  writeFileSync(join(dir, 'file'), '');
  t.equal(reportPathProblem(join(dir, 'file', 'r.html')), `${join(dir, 'file')} is not a directory`);
  writeFileSync(join(dir, 'r.html'), 'old');
  writeReport(join(dir, 'r.html'), '<!DOCTYPE html>new');
  t.equal(readFileSync(join(dir, 'r.html'), 'utf8'), '<!DOCTYPE html>new');
  t.same(readdirSync(dir).sort(), ['file', 'r.html', 'sub'], 'no temp file left');
  mkdirSync(join(dir, 'busy.html'));
  t.throws(() => writeReport(join(dir, 'busy.html'), 'x'));
  t.same(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'a failed rename leaves no temp file');
});

t.test('smbdirect run --report with a bad path: exit 1, one line, no host contacted', async (t) => {
  const dir = t.testdir({ 'hosts.yml': 'all:\n  hosts:\n    h1: { ansible_host: 192.0.2.1 }\n' });
  const started = Date.now();
  const r = await runCli(['run', 'verify', '-i', join(dir, 'hosts.yml'), '--report', join(dir, 'missing', 'r.html')]);
  t.equal(r.code, 1);
  t.match(r.stderr, `--report ${join(dir, 'missing', 'r.html')}: directory ${join(dir, 'missing')} does not exist`);
  t.notMatch(r.stdout, /PLAY|TASK/, 'no play started');
  t.ok(Date.now() - started < 8000, 'no connect timeout waited for');
  t.notOk(existsSync(join(dir, 'missing')));
});
