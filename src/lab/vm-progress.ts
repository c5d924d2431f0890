// Progress for the truth-tier lab's long steps (debootstrap, module builds, TCG boots): each
// takes minutes, and a silent minute looks like a hang. So every step logs when it starts,
// then every `every` seconds its elapsed time and the last line its command printed, then
// its total. Kept apart from lab/util.ts (the namespace lab), which only times steps.

import type { ProcessPromise } from 'zx';

export type Log = (line: string) => void;
export const noLog: Log = () => undefined;

/** Seconds since t0, one decimal under 10 s. */
export function since(t0: number): string {
  const s = (Date.now() - t0) / 1000;
  return s >= 10 ? `${s.toFixed(0)}s` : `${s.toFixed(1)}s`;
}

/** Hands a step a way to report its latest output line, shown by the ticker. */
export type Note = (line: string) => void;

/** Runs one long step with a start line, a ticker and an end line (done or failed). */
export async function step<T>(log: Log, what: string, fn: (note: Note) => Promise<T>, every = 15): Promise<T> {
  const t0 = Date.now();
  let last = '';
  log(`${what} ...`);
  const timer = setInterval(() => log(`${what}: ${since(t0)}${last ? `  [${last.slice(0, 120)}]` : ''}`), every * 1000);
  try {
    const out = await fn((line) => (last = line.trim() || last));
    log(`${what}: done in ${since(t0)}`);
    return out;
  } catch (err) {
    log(`${what}: FAILED after ${since(t0)}`);
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** Feeds a running zx process's output, line by line, to a step's note. Returns the process. */
export function follow(p: ProcessPromise, note: Note): ProcessPromise {
  const feed = (chunk: Buffer | string): void => {
    const lines = String(chunk).split('\n').filter((l) => l.trim() !== '');
    const tail = lines[lines.length - 1];
    if (tail !== undefined) note(tail);
  };
  // zx spawns synchronously, so the streams exist here; `?.` guards a halted process.
  p.stdout?.on('data', feed);
  p.stderr?.on('data', feed);
  return p;
}
