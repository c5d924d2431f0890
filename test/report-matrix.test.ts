// The cluster matrix after a verify run (src/engine/report-matrix.ts, cluster-report.ts): one
// fixed-width line per host, short column headers with a legend, ✓/✗/– or + X - without UTF-8,
// failures as "host: check: detail" (shared ones grouped), and the text/JSON reporters carrying it.
import t from 'tap';
import { columnCode, failureGroups, mergeOrder, ReportCollector } from '../src/engine/cluster-report.js';
import { HOST_WIDTH_MAX, HOSTS_PER_FAILURE, renderMatrix } from '../src/engine/report-matrix.js';
import { JsonReporter, TextReporter } from '../src/engine/output.js';
import { unicodeOn } from '../src/colour.js';
import { registerSecret } from '../src/secrets.js';
import { jsonLineStrings } from './helpers/json.js';
import type { Check, TaskResult } from '../src/types.js';
import { clusterResults, verifyResult, measure } from './helpers/report-fixture.js';
import { capture } from './helpers/capture.js';

const ANSI = /\x1b\[\d+m/g;
const collect = (results: TaskResult[]) => {
  const c = new ReportCollector();
  results.forEach((r) => c.add(r));
  return c;
};

t.test('one row per host, one column per check, legend, failures', async (t) => {
  const lines = renderMatrix(collect(clusterResults()).report(), { unicode: true, colour: false });
  t.equal(lines[0], 'HOST   A B C D E F G H I J   RESULT');
  t.equal(lines[1], 'srv01  ✓ ✗ ✗       ✗ ✗ – ✓   4 failed');
  t.equal(lines[2], 'cli01  ✓ ✗ ✗ ✗ ✗ ✗       ✓   5 failed');
  t.equal(lines[3], 'cli02  ✓ ✓ ✓ ✓ ✓ ✓       ✓   ok');
  t.equal(lines[4], `cli03  ${' '.repeat(19)}   not verified (unreachable)`);
  const text = lines.join('\n');
  t.match(text, /legend: ✓ pass {2}✗ fail {2}– skip {2}\(blank\) not checked on that host/);
  t.match(text, /\n {2}A {2}kernel options\n {2}B {2}RDMA link\n/);
  t.match(text, /\n {2}D {2}mount \/mnt\/data\n {2}E {2}dmesg \/mnt\/data\n {2}F {2}cifs DebugData SMBDirect\n {2}G {2}ksmbd running\n/);
  t.match(text, /\n {2}J {2}no ksmbd\/cifs oops\n/, 'the oops check stays last');
  t.match(text, /FAILURES \(8\):\nsrv01, cli01: RDMA link: no RDMA link siw0: run the rdma-link task/);
  t.match(text, /\ncli01: mount \/mnt\/data: not mounted\n/);
  t.match(text, /\ncli03: not verified: unreachable: ssh: connect timed out/);
});

t.test('ASCII symbols without UTF-8; colour only when asked, and columns stay aligned', async (t) => {
  const report = collect(clusterResults()).report();
  const ascii = renderMatrix(report, { unicode: false, colour: false });
  t.equal(ascii[1], 'srv01  + X X       X X - +   4 failed');
  t.match(ascii.join('\n'), /legend: \+ pass {2}X fail {2}- skip/);
  t.notMatch(ascii.join(''), /[^\x20-\x7e]/, 'pure ASCII');
  const coloured = renderMatrix(report, { unicode: false, colour: true });
  t.match(coloured[1], /\x1b\[31mX\x1b\[39m/, 'a failure in red');
  t.same(coloured.map((l) => l.replace(ANSI, '')), ascii, 'the same text under the colours');
  t.notOk(unicodeOn({ isTTY: false }, { LANG: 'en_US.UTF-8' }), 'not a TTY: ASCII');
  t.notOk(unicodeOn({ isTTY: true }, { LANG: 'C' }), 'not UTF-8: ASCII');
  t.ok(unicodeOn({ isTTY: true }, { LANG: 'C', LC_ALL: 'C.UTF-8' }));
});

t.test('200 hosts: one line each, every line the same width, a shared failure is one line', async (t) => {
  const results: TaskResult[] = [];
  for (let i = 0; i < 200; i++) {
    const host = i === 7 ? `cli${i}-with-a-very-long-fully-qualified.name.example.org` : `cli${String(i).padStart(3, '0')}`;
    results.push(verifyResult(host, [
      { name: 'kernel options', status: 'PASS', detail: 'CIFS' },
      { name: 'RDMA link', status: i % 2 ? 'FAIL' : 'PASS', detail: i % 2 ? 'no RDMA link siw0' : 'siw0 ACTIVE' },
      { name: 'mount /mnt/data', status: i === 42 ? 'FAIL' : 'PASS', detail: i === 42 ? 'not mounted' : 'ok' },
    ]));
  }
  const lines = renderMatrix(collect(results).report(), { unicode: true, colour: false });
  const rows = lines.slice(1, 201);
  t.equal(rows.length, 200);
  t.ok(rows.every((r, i) => r.startsWith(i === 7 ? 'cli7-with' : `cli${String(i).padStart(3, '0')}`)), 'hosts in order');
  const cellsEnd = (r: string) => r.length - r.split('   ').at(-1)!.length;
  t.same(new Set(rows.map(cellsEnd)), new Set([cellsEnd(lines[0]!)]), 'the result column starts at the same place on every line');
  t.ok(rows.every((r) => r.length <= HOST_WIDTH_MAX + 2 + 5 + 3 + 'not verified (unreachable)'.length), 'short lines');
  t.match(rows[7], new RegExp(`^cli7-with-a-very-long-fully-qua~ `), 'a long name is cut, not wrapped');
  const failures = lines.slice(lines.findIndex((l) => l.startsWith('FAILURES')));
  t.equal(failures.length, 3, 'two failure lines for 101 failures');
  t.match(failures[1], new RegExp(`^cli001, cli003, cli005, cli7-with-a-very-long-fully-qualified.name.example.org, cli009, cli011 \\(\\+${100 - HOSTS_PER_FAILURE} more\\): RDMA link: no RDMA link siw0$`));
  t.equal(failures[2], 'cli042: mount /mnt/data: not mounted');
});

t.test('a host in both roles: the worst of its same-named checks; two columns past Z', async (t) => {
  const both = verifyResult('srv02', [{ name: 'kernel options', status: 'PASS', detail: 'a' }, { name: 'kernel options', status: 'FAIL', detail: 'lacks CIFS' }]);
  const lines = renderMatrix(collect([both]).report(), { unicode: false, colour: false });
  t.equal(lines[1], 'srv02  X   1 failed');
  t.same([columnCode(0), columnCode(25), columnCode(26), columnCode(27), columnCode(51), columnCode(52)], ['A', 'Z', 'AA', 'AB', 'AZ', 'BA']);
  const many: Check[] = Array.from({ length: 30 }, (_, i) => ({ name: `check ${i}`, status: i === 29 ? 'FAIL' : 'PASS', detail: '' }));
  const wide = renderMatrix(collect([verifyResult('h1', many)]).report(), { unicode: false, colour: false });
  t.match(wide[0], /Y {2}Z {2}AA AB AC AD {3}RESULT$/);
  t.match(wide[1], /\+ {2}\+ {2}X {4}1 failed$/);
});

t.test('the text reporter prints the matrix before PLAY RECAP, masked; not for runs without checks', async (t) => {
  registerSecret('matrix-s3cret');
  const r = new TextReporter(0, false, false, false);
  const out = capture(() => {
    for (const x of clusterResults()) r.result(x);
    r.result(verifyResult('cli04', [{ name: 'mount /mnt/data', status: 'FAIL', detail: 'password matrix-s3cret refused' }]));
    r.recap(new Map([['srv01', { ok: 0, changed: 0, unreachable: 0, failed: 1, skipped: 0 }]]), new Map());
  });
  t.match(out, /\nCLUSTER MATRIX \*+\nHOST {3}A B C/);
  t.ok(out.indexOf('CLUSTER MATRIX') < out.indexOf('PLAY RECAP'));
  t.match(out, /cli04: mount \/mnt\/data: password \*{8} refused/);
  t.notMatch(out, /matrix-s3cret/);
  const plain = new TextReporter(0, false, false, false);
  const none = capture(() => {
    plain.result({ host: 'h', task: 'T', status: 'changed', msg: '' });
    plain.recap(new Map([['h', { ok: 1, changed: 1, unreachable: 0, failed: 0, skipped: 0 }]]), new Map());
  });
  t.notMatch(none, /CLUSTER MATRIX/);
});

t.test('--json: the checks, host info and probe travel in the task line, masked', async (t) => {
  registerSecret('json-s3cret');
  const r = new JsonReporter();
  const res = verifyResult('cli01', [{ name: 'mount /mnt/data', status: 'FAIL', detail: 'json-s3cret' }]);
  res.probe = [measure('cli01', '/mnt/data', 900, 300)];
  const out = capture(() => r.result(res));
  const line = JSON.parse(out);
  t.same(line.checks, [{ name: 'mount /mnt/data', status: 'FAIL', detail: '********' }]);
  t.equal(line.host_info.kernel, '6.1.0-26-amd64');
  t.same(line.probe, res.probe);
  t.notOk(jsonLineStrings(out).some((s) => s.includes('json-s3cret')));
});

t.test('columns: shared checks keep their place, each role\'s own after them', async (t) => {
  t.same(mergeOrder([['k', 'l', 'ksmbd', 'oops'], ['k', 'l', 'mount', 'dmesg', 'oops'], ['x']]), ['x', 'k', 'l', 'mount', 'dmesg', 'ksmbd', 'oops']);
});

t.test('failure groups keep the order of first failure', async (t) => {
  const g = failureGroups(collect(clusterResults()).report());
  t.same(g.map((x) => `${x.hosts.join(',')}|${x.check}`).slice(0, 2), ['srv01,cli01|RDMA link', 'srv01,cli01|RDMA link at boot']);
});
