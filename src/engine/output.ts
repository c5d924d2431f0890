// What the operator reads: Ansible's shapes (banners, ok/changed/skipping/fatal, PLAY RECAP),
// or JSON lines for machines. Every line passes through redact() before it leaves (JSON: every
// string value, before encoding).
import { colourOn, cyan, green, magenta, red, unicodeOn, yellow } from '../colour.js';
import { ReportCollector } from './cluster-report.js';
import { renderMatrix } from './report-matrix.js';
import type { ResultStatus, TaskResult } from '../types.js';
import { redact, redactValue } from '../secrets.js';

export interface HostStats { ok: number; changed: number; unreachable: number; failed: number; skipped: number }

export interface Reporter {
  play(name: string): void;
  task(name: string, handler?: boolean): void;
  result(r: TaskResult): void;
  warn(host: string, text: string): void;
  progress(label: string, done: number, total: number, working: string[]): void;
  recap(stats: Map<string, HostStats>, roundTrips: Map<string, number>): void;
  message(text: string): void;
}

export function emptyStats(): HostStats {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0 };
}

export function count(stats: HostStats, status: ResultStatus): void {
  if (status === 'ok' || status === 'changed') stats.ok++; // Ansible's ok includes changed
  if (status === 'changed') stats.changed++;
  if (status === 'skipped') stats.skipped++;
  if (status === 'failed') stats.failed++;
  if (status === 'unreachable') stats.unreachable++;
}

const banner = (text: string) => `\n${text} ${'*'.repeat(Math.max(3, 79 - text.length))}`;

export class TextReporter implements Reporter {
  private progressShown = false;
  /** The verify checks of the run, for the matrix printed before the recap. */
  private cluster = new ReportCollector();
  constructor(private verbosity: number, private showDiff: boolean, private tty = colourOn(process.stdout), private unicode = unicodeOn(process.stdout)) {}

  private out(line: string): void {
    this.clearProgress();
    process.stdout.write(redact(line) + '\n');
  }

  play(name: string) { this.out(banner(`PLAY [${name}]`)); }
  task(name: string, handler = false) { this.out(banner(`${handler ? 'RUNNING HANDLER' : 'TASK'} [${name}]`)); }
  message(text: string) { this.out(text); }
  warn(host: string, text: string) { this.out(magenta(this.tty, `[WARNING]: [${host}] ${text}`)); }

  result(r: TaskResult) {
    const tail = r.msg ? ` => ${r.msg}` : '';
    const line = {
      ok: green(this.tty, `ok: [${r.host}]${this.verbosity > 0 ? tail : ''}`),
      changed: yellow(this.tty, `changed: [${r.host}]${tail}`),
      skipped: cyan(this.tty, `skipping: [${r.host}]${tail}`),
      failed: red(this.tty, `fatal: [${r.host}]: FAILED! => ${r.msg}`),
      unreachable: red(this.tty, `fatal: [${r.host}]: UNREACHABLE! => ${r.msg}`),
    }[r.status];
    this.out(line);
    this.cluster.add(r);
    for (const w of r.warnings ?? []) this.warn(r.host, w);
    if (r.report) this.out(r.report.trimEnd());
    if (this.showDiff && r.diff) this.out(r.diff.trimEnd());
    if (this.verbosity > 0 && r.stdout?.trim()) this.out(r.stdout.trimEnd().replace(/^/gm, '    '));
  }

  progress(label: string, done: number, total: number, working: string[]) {
    if (!process.stderr.isTTY) return;
    const names = working.slice(0, 4).join(' ') + (working.length > 4 ? ' ...' : '');
    process.stderr.write(`\r\x1b[K${label}: ${done}/${total} hosts done${working.length ? `, working: ${names}` : ''}`);
    this.progressShown = true;
  }

  private clearProgress() {
    if (this.progressShown) process.stderr.write('\r\x1b[K');
    this.progressShown = false;
  }

  recap(stats: Map<string, HostStats>, roundTrips: Map<string, number>) {
    if (!this.cluster.empty) {
      this.out(banner('CLUSTER MATRIX'));
      for (const l of renderMatrix(this.cluster.report(), { unicode: this.unicode, colour: this.tty })) this.out(l);
    }
    this.out(banner('PLAY RECAP'));
    const width = Math.max(26, ...[...stats.keys()].map((h) => h.length + 1));
    for (const [host, s] of stats) {
      const colour = s.failed || s.unreachable ? red : s.changed ? yellow : green;
      const cell = (k: string, n: number) => `${k}=${n}`.padEnd(k.length + 6);
      const trips = this.verbosity > 0 ? `round_trips=${roundTrips.get(host) ?? 0}` : '';
      this.out(`${colour(this.tty, host.padEnd(width))}: ${cell('ok', s.ok)}${cell('changed', s.changed)}${cell('unreachable', s.unreachable)}${cell('failed', s.failed)}${cell('skipped', s.skipped)}${trips}`.trimEnd());
    }
    this.out('');
  }
}

/** --json: one object per line on stdout, the recap last. */
export class JsonReporter implements Reporter {
  private emit(o: object) { process.stdout.write(JSON.stringify(redactValue(o)) + '\n'); }
  play() {}
  task() {}
  progress() {}
  message() {}
  warn(host: string, text: string) { this.emit({ type: 'warning', host, msg: text }); }
  result(r: TaskResult) {
    const o: Record<string, unknown> = { type: 'task', host: r.host, task: r.task, status: r.status, msg: r.msg };
    if (r.warnings?.length) o.warnings = r.warnings;
    if (r.diff) o.diff = r.diff;
    if (r.report) o.report = r.report;
    if (r.checks) o.checks = r.checks;
    if (r.hostInfo) o.host_info = r.hostInfo;
    if (r.probe) o.probe = r.probe;
    if (r.serverProbe) o.server_probe = r.serverProbe;
    this.emit(o);
  }
  recap(stats: Map<string, HostStats>, roundTrips: Map<string, number>) {
    this.emit({ type: 'stats', round_trips: Object.fromEntries(roundTrips) });
    this.emit({ type: 'recap', hosts: Object.fromEntries(stats) });
  }
}

/** 0 all fine, 2 a host failed, 4 a host unreachable (4 wins over 2). */
export function exitCode(stats: Map<string, HostStats>): number {
  const all = [...stats.values()];
  if (all.some((s) => s.unreachable)) return 4;
  if (all.some((s) => s.failed)) return 2;
  return 0;
}
