// Progress for long controller-side steps (debootstrap and TCG boots in the VM lab, kernel module
// builds, prerequisite installs): each takes minutes, and a silent minute looks like a hang. So
// every step logs when it starts, then every `every` seconds its elapsed time and the last line its
// command printed, then its total. Shared by the lab and the kernel build, so neither imports the
// other; lab/util.ts (the namespace lab) only times steps.

import type { ProcessPromise } from 'zx';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from './errors.js';
import { logDir } from './paths.js';

export type Log = (line: string) => void;
export const noLog: Log = () => undefined;

/** Seconds since t0, one decimal under 10 s. */
export function since(t0: number): string {
  const s = (Date.now() - t0) / 1000;
  return s >= 10 ? `${s.toFixed(0)}s` : `${s.toFixed(1)}s`;
}

/** Hands a step a way to report its latest output line, shown by the ticker. */
export type Note = (line: string) => void;

/** A long step failed: says which, how, and where its whole output is. */
export class StepError extends Error {}

/**
 * Runs one long step with a start line, a ticker and an end line (done or failed). Everything
 * the step's commands print (fed through `note`) also goes to a log file under logDir(), which a
 * failure names: the last line on the ticker is rarely the reason.
 */
export async function step<T>(log: Log, what: string, fn: (note: Note) => Promise<T>, every = 15): Promise<T> {
  const t0 = Date.now();
  const file = logFile(what);
  let last = '';
  let logged = false;
  const keep = (line: string): void => {
    try {
      if (!logged) mkdirSync(logDir(), { recursive: true });
      appendFileSync(file, `${line}\n`);
      logged = true;
    } catch { /* a log we cannot write must not fail the step */ }
  };
  log(`${what} ...`);
  const timer = setInterval(() => log(`${what}: ${since(t0)}${last ? `  [${last.slice(0, 120)}]` : ''}`), every * 1000);
  try {
    const out = await fn((line) => { keep(line); last = line.trim() || last; });
    log(`${what}: done in ${since(t0)}`);
    return out;
  } catch (err) {
    log(`${what}: FAILED after ${since(t0)}`);
    if (err instanceof StepError) throw err; // a step inside a step already said it
    keep(errorMessage(err));
    throw new StepError(`${what} failed after ${since(t0)}: ${errorMessage(err)}\nWhole output: ${file}`, { cause: err });
  } finally {
    clearInterval(timer);
  }
}

function logFile(what: string): string {
  const slug = what.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
  return join(logDir(), `${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}-${process.pid}-${slug}.log`);
}

/** Feeds a running zx process's output, every line, to a step's note. Returns the process. */
export function follow(p: ProcessPromise, note: Note): ProcessPromise {
  const feeder = (): ((chunk: Buffer | string) => void) => {
    let partial = ''; // a chunk may end mid-line: keep the rest for the next one
    return (chunk) => {
      const lines = (partial + String(chunk)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') note(line);
    };
  };
  // zx spawns synchronously, so the streams exist here; `?.` guards a halted process.
  p.stdout?.on('data', feeder());
  p.stderr?.on('data', feeder());
  return p;
}
