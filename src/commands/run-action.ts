// `smbdirect run`, the implementation (its options are in run.ts).
import { selectHosts } from '../inventory/index.js';
import { ConnectionPool } from '../engine/pool.js';
import { loadPlaybook, playHostPatterns } from '../playbook.js';
import type { HostSpec, Inventory } from '../types.js';
import type { RunSummary } from '../engine/runner.js';
import { parseSerial } from '../engine/serial.js';
import { cliPasswords } from './passwords.js';
import { handled, inventoryFrom, limitedHosts, UsageError } from './common.js';

const list = (v: string[] | undefined) => (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);

/**
 * The hosts the run will connect to first: those of the plays in order, within --limit, as many
 * as --forks. Empty when a pattern or the playbook is wrong: the run itself then says why.
 */
async function firstHosts(playbook: string, inv: Inventory, limit: string | undefined, forks: number): Promise<HostSpec[]> {
  try {
    const limited = limit ? new Set(selectHosts(inv, limit)) : undefined;
    const names = (await playHostPatterns(playbook)).flatMap((p) => selectHosts(inv, p)).filter((n) => !limited || limited.has(n));
    return [...new Set(names)].slice(0, Math.max(1, forks)).map((n) => inv.hosts.get(n)!);
  } catch {
    return [];
  }
}

/** --serial, checked before any host is contacted. */
function serialOption(v: unknown) {
  if (v === undefined) return undefined;
  try {
    return parseSerial(Array.isArray(v) ? v.join(',') : v);
  } catch (e) {
    throw new UsageError(`--serial: ${(e as Error).message.replace(/^"serial" /, '')}`);
  }
}

/** --report, checked before any host is contacted. */
async function reportOption(v: unknown): Promise<string | undefined> {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError('--report needs a file name (FILE.html)');
  const why = (await import('../engine/report-html.js')).reportPathProblem(v);
  if (why) throw new UsageError(`--report ${v}: ${why}`);
  return v;
}

/** The HTML cluster report of the run: every host's results, in inventory order. */
async function writeHtmlReport(path: string, summary: RunSummary, inv: Inventory): Promise<void> {
  const [{ ReportCollector }, { renderHtml, writeReport }] = await Promise.all([import('../engine/cluster-report.js'), import('../engine/report-html.js')]);
  const collector = new ReportCollector();
  for (const play of summary.outcomes) {
    for (const host of inv.hosts.keys()) for (const r of play.get(host)?.results ?? []) collector.add(r);
  }
  writeReport(path, renderHtml(collector.report()));
  process.stderr.write(`report: ${path}\n`);
}

export default handled(async (argv) => {
  const serial = serialOption(argv.serial);
  const report = await reportOption(argv.report);
  const passwords = await cliPasswords(argv); // asked before the vault passwords, as in Ansible
  const { inv, extraVars } = await inventoryFrom(argv);
  if (argv.limit !== undefined) await limitedHosts(inv, argv.limit, argv.inventory);
  const pool = new ConnectionPool({ connectTimeoutMs: argv.timeout * 1000, acceptNewHostKeys: argv.acceptNewHostKeys, passwords });
  // The first SSH handshakes wait on the hosts while this process loads the engine and the
  // playbook's tasks (#14). A failed connection is reported by the play that uses it.
  for (const h of await firstHosts(argv.playbook, inv, argv.limit, argv.forks)) pool.get(h).catch(() => undefined);
  let running = false;
  try {
    const [{ runPlaybook }, { JsonReporter, TextReporter }, pb] = await Promise.all([
      import('../engine/runner.js'),
      import('../engine/output.js'),
      loadPlaybook(argv.playbook),
    ]);
    const reporter = argv.json ? new JsonReporter() : new TextReporter(argv.verbose ?? 0, argv.diff);
    running = true;
    const summary = await runPlaybook(pb, inv, {
      check: argv.check,
      diff: argv.diff,
      limit: argv.limit,
      tags: list(argv.tags),
      skipTags: list(argv.skipTags),
      forks: argv.forks,
      maxFailPercent: argv.maxFailPercent,
      serial,
      timeoutMs: argv.taskTimeout ? argv.taskTimeout * 1000 : undefined,
      connectTimeoutMs: argv.timeout * 1000,
      acceptNewHostKeys: argv.acceptNewHostKeys,
      extraVars,
      reporter,
      pool,
    });
    if (report) await writeHtmlReport(report, summary, inv);
    return summary.code;
  } finally {
    // runPlaybook closes the connections itself; these were opened for a run that never started.
    if (!running) await pool.closeAll();
  }
});
