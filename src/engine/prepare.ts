// Before any play: the controller-side work the run's tasks declare (Task.controllerPrepare, e.g.
// smbdirect/kernel-modules building modules for the hosts' kernels). Each distinct prepare (by
// key) runs once per run, whatever the number of plays and tasks declaring it: its gather once on
// each host that wants it, then its run() on the controller. A prepare that throws stops the run
// before anything changes on any host. The engine knows nothing of what a prepare does.
import type { ControllerPrepare, HostSpec, PrepareHost, Vars } from '../types.js';
import type { ConnectionPool } from './pool.js';

/** One prepare and the hosts that want it, each with the vars of the first play running the task on it. */
export interface PrepareWork {
  prepare: ControllerPrepare;
  hosts: Array<{ host: HostSpec; vars: Vars }>;
}

/** A play as far as preparation cares: its tasks and the hosts it runs on, each with its vars. */
export interface PlayToPrepare {
  tasks: Array<{ controllerPrepare?: ControllerPrepare }>;
  hosts: Array<{ host: HostSpec; vars: Vars }>;
}

/** The distinct prepares of the plays' tasks (first met per key), in play and task order, with the hosts wanting each. */
export function collectPrepares(plays: PlayToPrepare[]): PrepareWork[] {
  const byKey = new Map<string, PrepareWork>();
  for (const play of plays) {
    const here = new Set<string>();
    for (const task of play.tasks) {
      const prepare = task.controllerPrepare;
      if (!prepare || here.has(prepare.key)) continue;
      here.add(prepare.key);
      let work = byKey.get(prepare.key);
      if (!work) byKey.set(prepare.key, (work = { prepare, hosts: [] }));
      for (const h of play.hosts) {
        if (work.hosts.some((w) => w.host.name === h.host.name)) continue;
        if (work.prepare.wants(h.vars)) work.hosts.push(h);
      }
    }
  }
  return [...byKey.values()].filter((w) => w.hosts.length > 0);
}

/**
 * Runs the prepare's gather on each of its hosts (one round trip each), then run() with every host
 * where it exited 0. Hosts unreachable now are left out: their play's fact gathering reports them.
 * Throws what run() throws.
 */
export async function runPrepare(work: PrepareWork, pool: ConnectionPool, log: (line: string) => void): Promise<void> {
  const gathered: PrepareHost[] = [];
  for (const { host, vars } of work.hosts) {
    try {
      const out = await (await pool.get(host)).run(work.prepare.gather);
      if (out.code === 0) gathered.push({ host, vars, output: out.stdout });
    } catch {
      // Unreachable now: the play's fact gathering reports it.
    }
  }
  if (gathered.length === 0) return;
  await work.prepare.run(gathered, log);
}
