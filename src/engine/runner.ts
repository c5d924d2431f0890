// Runs a playbook over an inventory: hosts in parallel (--forks), plays in order, a failed or
// unreachable host drops out while the others go on, results printed per task like Ansible.
import pLimit from 'p-limit';
import { UnreachableError } from '../connection/index.js';
import { selectHosts } from '../inventory/index.js';
import { selectTasks, type Play, type Playbook } from '../playbook.js';
import type { Connection, Facts, HostSpec, Inventory, TaskResult, Vars } from '../types.js';
import { ConnectionPool } from './pool.js';
import { ORIGINS_VAR, originsOf } from '../var-origins.js';
import { sshAddress } from '../connection/options.js';
import { collectPrepares, runPrepare } from './prepare.js';
import { FACTS_TASK, runPlayOnHost, type HostPlayOutcome, type Interrupt } from './host-play.js';
import { interrupted, onInterrupt } from '../interrupt.js';
import { serialBatches, type SerialSize } from './serial.js';
import { count, emptyStats, exitCode, type HostStats, type Reporter } from './output.js';

export { ConnectionPool };

export interface RunOptions {
  check: boolean;
  /** --diff: file changes carry their unified diff (made only then). */
  diff?: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  forks: number;
  maxFailPercent?: number;
  /** --serial: batch sizes for every play, over the plays' own `serial`. */
  serial?: SerialSize[];
  timeoutMs?: number;
  connectTimeoutMs: number;
  acceptNewHostKeys: boolean;
  extraVars: Vars;
  reporter: Reporter;
  /** Connections already being opened (run-action starts the first ones while the engine loads). */
  pool?: ConnectionPool;
  /** After Ctrl-C / SIGTERM, how long an apply in flight may take to finish (default 30 s). */
  interruptGraceMs?: number;
}

export const INTERRUPT_GRACE_MS = 30_000;

export interface RunSummary {
  code: number;
  stats: Map<string, HostStats>;
  /** Per play, per host: what happened (tests and the verify table read this). */
  outcomes: Array<Map<string, HostPlayOutcome>>;
  roundTrips: Map<string, number>;
}

function playHosts(inv: Inventory, play: Play, limit: string | undefined, dead: Set<string>): HostSpec[] {
  const chosen = new Set(selectHosts(inv, play.hosts));
  const limited = limit ? new Set(selectHosts(inv, limit)) : chosen;
  return [...chosen].filter((h) => limited.has(h) && !dead.has(h)).map((h) => inv.hosts.get(h)!);
}

/** Where SSH reaches each host (ansible_host, else its ssh_config HostName), resolved once per host. */
const sshAddresses = new WeakMap<HostSpec, string | undefined>();
function addressOf(host: HostSpec): string | undefined {
  if (!sshAddresses.has(host)) sshAddresses.set(host, sshAddress(host));
  return sshAddresses.get(host);
}

/** The host's variables as the play's tasks see them: inventory, what the run's tasks derive from
 * the whole inventory (Task.inventoryVars), where each was set, play vars, -e. */
function playVars(host: HostSpec, play: Play, o: RunOptions, derived: Vars): Vars {
  const origins = { ...host.origins, ...originsOf(play.vars, `playbook vars of play "${play.name}"`), ...originsOf(o.extraVars, '-e (extra vars)') };
  const ssh = addressOf(host);
  return { ...host.vars, ...derived, ...(ssh !== undefined && { smbdirect_ssh_address: ssh }), [ORIGINS_VAR]: origins, ...play.vars, ...o.extraVars };
}

async function runOne(pool: ConnectionPool, host: HostSpec, play: Play, o: RunOptions, derived: Vars, interrupt: Interrupt, cachedFacts?: Facts): Promise<HostPlayOutcome> {
  const spec = { ...host, vars: playVars(host, play, o, derived) };
  let conn: Connection;
  try {
    conn = await pool.get(host);
  } catch (e) {
    const msg = e instanceof UnreachableError ? e.message : `cannot connect: ${(e as Error).message}`;
    return { results: [{ host: host.name, task: FACTS_TASK, status: 'unreachable', msg }], handlerResults: [], state: 'unreachable' };
  }
  const tasks = selectTasks(play, o.tags, o.skipTags);
  return runPlayOnHost({ conn, host: spec, tasks, handlers: play.handlers, check: o.check, diff: o.diff, timeoutMs: o.timeoutMs, cachedFacts, interrupt });
}

function report(play: Play, hosts: HostSpec[], outcomes: Map<string, HostPlayOutcome>, o: RunOptions, stats: Map<string, HostStats>) {
  const tasks = [FACTS_TASK, ...selectTasks(play, o.tags, o.skipTags).map((t) => t.name)];
  const record = (r: TaskResult) => {
    o.reporter.result(r);
    count(stats.get(r.host)!, r.status);
  };
  // Results are index-aligned with the play's tasks (the facts result first), so one pass per task suffices.
  tasks.forEach((name, i) => {
    const rs = hosts.map((h) => outcomes.get(h.name)!.results[i]).filter((r): r is TaskResult => r !== undefined);
    if (rs.length === 0) return;
    o.reporter.task(name);
    rs.forEach(record);
  });
  const handlerNames = [...new Set(hosts.flatMap((h) => outcomes.get(h.name)!.handlerResults.map((r) => r.task)))];
  for (const name of handlerNames) {
    o.reporter.task(name, true);
    hosts.flatMap((h) => outcomes.get(h.name)!.handlerResults.filter((r) => r.task === name)).forEach(record);
  }
}

export async function runPlaybook(pb: Playbook, inv: Inventory, o: RunOptions): Promise<RunSummary> {
  const pool = o.pool ?? new ConnectionPool(o);
  const stats = new Map<string, HostStats>();
  const dead = new Set<string>();
  const limit = pLimit(o.forks);
  const summary: RunSummary = { code: 0, stats, outcomes: [], roundTrips: new Map() };
  // What the run's tasks derive from the whole inventory: each hook once, whichever tasks share it.
  const hooks = new Set(pb.plays.flatMap((p) => p.tasks.flatMap((t) => (t.inventoryVars ? [t.inventoryVars] : []))));
  const derived: Vars = Object.assign({}, ...[...hooks].map((h) => h(inv, o.extraVars, addressOf)));
  const reusable = new Map<string, Facts>();
  // Ctrl-C / SIGTERM (#16 item 3): no new host or play starts, facts in flight are abandoned,
  // applies in flight get a bounded time to finish, then the recap and exit 128+signal.
  let signal: string | undefined;
  let heard!: (s: string) => void;
  const interrupt: Interrupt = { get signal() { return signal; }, stopped: new Promise((r) => (heard = r)), graceMs: o.interruptGraceMs ?? INTERRUPT_GRACE_MS };
  const unsubscribe = onInterrupt((s) => { signal = s.signal; heard(s.signal); });
  try {
    const everyone = [...new Set(pb.plays.flatMap((p) => playHosts(inv, p, o.limit, new Set())))];
    // The controller-side work the tasks declare, once per run, before any host is touched.
    const prepares = collectPrepares(pb.plays.map((p) => ({
      tasks: p.tasks,
      hosts: playHosts(inv, p, o.limit, new Set()).map((h) => ({ host: h, vars: playVars(h, p, o, derived) })),
    })));
    for (const work of prepares) {
      if (signal) break;
      try {
        await runPrepare(work, pool, (l) => o.reporter.message(l));
      } catch (e) {
        if (!signal) {
          o.reporter.message(`ERROR! ${work.prepare.what} failed; no host was changed: ${(e as Error).message}`);
          summary.code = 1;
          return summary;
        }
        o.reporter.message(`ERROR! interrupted (${signal}) while ${work.prepare.what}: ${work.prepare.interrupted}; no host was changed`);
        for (const h of everyone) stats.set(h.name, emptyStats());
      }
    }
    plays: for (const play of pb.plays) {
      if (signal) break;
      const hosts = playHosts(inv, play, o.limit, dead);
      const outcomes = new Map<string, HostPlayOutcome>();
      summary.outcomes.push(outcomes);
      if (hosts.length === 0) {
        o.reporter.play(play.name);
        o.reporter.message('skipping: no hosts matched');
        continue;
      }
      // Rolling batches (#13 item 6): each batch runs the whole play, handlers included, before
      // the next starts; like Ansible, the PLAY banner is printed once per batch.
      for (const batch of serialBatches(hosts, o.serial ?? play.serial)) {
        if (signal) break plays;
        o.reporter.play(play.name);
        for (const h of batch) if (!stats.has(h.name)) stats.set(h.name, emptyStats());
        const working = new Set<string>();
        let done = 0;
        await Promise.all(batch.map((h) => limit(async () => {
          // Not started after a signal: no result, zeros in the recap.
          if (signal) return void outcomes.set(h.name, { results: [], handlerResults: [], state: 'failed' });
          working.add(h.name);
          o.reporter.progress(play.name, done, batch.length, [...working]);
          const out = await runOne(pool, h, play, o, derived, interrupt, reusable.get(h.name));
          outcomes.set(h.name, out);
          // Facts stay true only while nothing was applied to the host (check mode applies nothing).
          if (out.facts && !out.applied) reusable.set(h.name, out.facts);
          else reusable.delete(h.name);
          working.delete(h.name);
          o.reporter.progress(play.name, ++done, batch.length, [...working]);
        })));
        report(play, batch, outcomes, o, stats);
        // Facts can be large (file contents); only the reusable copies are kept past the report.
        for (const h of batch) delete outcomes.get(h.name)!.facts;
        const failed = batch.filter((h) => outcomes.get(h.name)!.state !== 'ok');
        failed.forEach((h) => dead.add(h.name));
        // --max-fail-percent counts per batch (the whole play without serial); over it, or a
        // batch in which every host failed, and no later batch or play runs.
        if (o.maxFailPercent !== undefined && (failed.length * 100) / batch.length > o.maxFailPercent) {
          o.reporter.message(`\nNO MORE HOSTS LEFT: ${failed.length} of ${batch.length} hosts${batch.length < hosts.length ? ' of the batch' : ''} failed, over --max-fail-percent ${o.maxFailPercent}`);
          break plays;
        }
        if (failed.length === batch.length || signal) break plays;
      }
    }
  } finally {
    unsubscribe();
    summary.roundTrips = await pool.roundTrips();
    await pool.closeAll();
  }
  o.reporter.recap(stats, summary.roundTrips);
  const stop = interrupted();
  summary.code = stop ? stop.code : exitCode(stats);
  return summary;
}
