// Ctrl-C (SIGINT) and SIGTERM on the controller (#16 item 3). The first signal is a request to
// stop: whoever registered with onInterrupt() winds down (the runner starts no new host, lets the
// applies in flight finish for a bounded time, prints the recap; a module build kills its
// processes and removes its temp dir) and the command exits 128+signal (130, 143). A command with
// nothing to wind down, or a second signal, exits at once, after the synchronous last words
// (onExitNow: kill our child processes, remove temp dirs). Installed by cli.ts (from main.ts, or from
// the bundle of `run`, so that the engine listens to the same copy): node modules only.
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

export type StopSignal = 'SIGINT' | 'SIGTERM';
export interface Stop { signal: StopSignal; code: number }

let stop: Stop | undefined;
const listeners = new Set<(s: Stop) => void>();
const lastWords = new Set<() => void>();

/** The first SIGINT/SIGTERM received, if any. */
export function interrupted(): Stop | undefined {
  return stop;
}

/** Calls `fn` on the first signal (at once if it came already). Returns the unsubscribe. */
export function onInterrupt(fn: (s: Stop) => void): () => void {
  if (stop) fn(stop);
  else listeners.add(fn);
  return () => listeners.delete(fn);
}

/** A synchronous cleanup run before an immediate exit (second signal). Returns the unsubscribe. */
export function onExitNow(fn: () => void): () => void {
  lastWords.add(fn);
  return () => lastWords.delete(fn);
}

function exitNow(code: number): never {
  for (const fn of lastWords) {
    try { fn(); } catch { /* the others must still run */ }
  }
  process.exit(code);
}

let installed = false;
export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const code = 128 + constants.signals[signal];
      if (stop || listeners.size === 0) {
        if (stop) process.stderr.write(`\nERROR! ${signal} again: exiting at once\n`);
        exitNow(code);
      }
      stop = { signal, code };
      process.stderr.write(`\nERROR! interrupted (${signal}): no new host is started; what is in flight finishes or is stopped, then the recap (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once)\n`);
      for (const fn of [...listeners]) fn(stop);
    });
  }
}

/** Every descendant process of this one (children first), from /proc/PID/task/TID/children. */
export function descendants(pid = process.pid): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    let tasks: string[];
    try { tasks = readdirSync(`/proc/${p}/task`); } catch { return; }
    for (const tid of tasks) {
      let kids: string;
      try { kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8'); } catch { continue; }
      for (const k of kids.trim().split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}

/** Sends `signal` to each of our descendant processes, by PID. */
export function killDescendants(signal: NodeJS.Signals): void {
  for (const pid of descendants()) {
    try { process.kill(pid, signal); } catch { /* gone already */ }
  }
}

/**
 * For work that runs child processes (a module build): on the first signal, kill our descendant
 * processes (SIGTERM, again every 100 ms while the work has not settled, since a failed step may
 * start another, then SIGKILL after 5 s) so the work fails now; `lastWords` runs before an
 * immediate exit. Resolves or rejects as the work does.
 */
export async function killChildrenOnInterrupt<T>(work: Promise<T>, lastWords: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const off = onInterrupt(() => {
    const t0 = Date.now();
    killDescendants('SIGTERM');
    timer = setInterval(() => killDescendants(Date.now() - t0 > 5000 ? 'SIGKILL' : 'SIGTERM'), 100);
  });
  const offNow = onExitNow(() => { killDescendants('SIGKILL'); lastWords(); });
  try {
    return await work;
  } finally {
    off();
    offNow();
    clearInterval(timer);
  }
}
