// The cluster matrix printed after a verify run: one line per host, one fixed-width column per
// check (short headers, a legend), then the failures as "host: check: detail". Readable at 200
// hosts: rows never wrap into each other, and a failure shared by many hosts is one line.
import { cyan, green, red } from '../colour.js';
import { cell, columnCode, failureGroups, type ClusterReport, type HostRow } from './cluster-report.js';
import type { CheckStatus } from '../types.js';

export interface MatrixStyle {
  /** ✓ ✗ – (UTF-8 terminal), else + X - */
  unicode: boolean;
  colour: boolean;
}

const SYMBOLS = { unicode: { PASS: '✓', FAIL: '✗', SKIP: '–' }, ascii: { PASS: '+', FAIL: 'X', SKIP: '-' } } as const;
const PAINT = { PASS: green, FAIL: red, SKIP: cyan } as const;
/** Host names longer than this are cut (with "~") so that one row stays one line. */
export const HOST_WIDTH_MAX = 32;
/** Hosts named in one failure line before "+N more". */
export const HOSTS_PER_FAILURE = 6;

function hostCell(host: string, width: number): string {
  return (host.length > width ? `${host.slice(0, width - 1)}~` : host).padEnd(width);
}

function tail(row: HostRow): string {
  if (!row.checks.length) return row.problem ? `not verified (${row.problem.split(':')[0]})` : 'no checks';
  const failed = row.checks.filter((c) => c.status === 'FAIL').length;
  return failed ? `${failed} failed` : 'ok';
}

function hostsText(hosts: string[]): string {
  const shown = hosts.slice(0, HOSTS_PER_FAILURE).join(', ');
  return hosts.length > HOSTS_PER_FAILURE ? `${shown} (+${hosts.length - HOSTS_PER_FAILURE} more)` : shown;
}

/** The matrix, its legend and the failures, as lines (no trailing newline). */
export function renderMatrix(report: ClusterReport, style: MatrixStyle): string[] {
  const sym = style.unicode ? SYMBOLS.unicode : SYMBOLS.ascii;
  const hostWidth = Math.min(HOST_WIDTH_MAX, Math.max(4, ...report.hosts.map((h) => h.host.length)));
  const codes = report.columns.map((_, i) => columnCode(i));
  const colWidth = Math.max(1, ...codes.map((c) => c.length));
  const mark = (s: CheckStatus | undefined) => (s ? (PAINT[s](style.colour, sym[s] + ' '.repeat(colWidth - 1))) : ' '.repeat(colWidth));
  const lines = [`${'HOST'.padEnd(hostWidth)}  ${codes.map((c) => c.padEnd(colWidth)).join(' ')}   RESULT`];
  for (const row of report.hosts) {
    const cells = report.columns.map((c) => mark(cell(row, c))).join(' ');
    lines.push(`${hostCell(row.host, hostWidth)}  ${cells}   ${tail(row)}`);
  }
  lines.push('', `legend: ${sym.PASS} pass  ${sym.FAIL} fail  ${sym.SKIP} skip  (blank) not checked on that host`);
  report.columns.forEach((c, i) => lines.push(`  ${codes[i]!.padEnd(colWidth)}  ${c}`));
  const failures = failureGroups(report);
  lines.push('', failures.length ? `FAILURES (${failures.length}):` : 'FAILURES: none');
  for (const f of failures) lines.push(`${hostsText(f.hosts)}: ${f.check}: ${f.detail}`);
  return lines;
}
