// Small helpers shared by the lab modules: a quiet zx shell, timing for progress lines,
// and the root check every lab entry point needs first (prerequisites: src/prereqs.ts).

import { execFile } from 'node:child_process';
import { $ } from 'zx';

/** A zx `$` that never echoes commands or output: the lab reports only through `log`. */
export const sh = $({ quiet: true, verbose: false });

/** Like `sh` but never throws: used by teardown, where "already gone" is normal. */
export const shTry = $({ quiet: true, verbose: false, nothrow: true });

/**
 * Runs one program without a shell. The per-host hot path uses this instead of zx: zx wraps
 * every command in bash, which costs ~10-30 ms per call on this 2-core machine, times
 * several calls per host.
 */
export function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    // The program may exit without reading its stdin: that EPIPE is not our error.
    child.stdin?.on('error', () => undefined);
    if (input === undefined) child.stdin?.end();
    else child.stdin?.end(input);
  });
}

export type Log = (line: string) => void;
export const noLog: Log = () => undefined;

/** Runs one long step and logs "<what> ... <seconds>s" when it is done (or failed). */
export async function timed<T>(log: Log, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    const out = await fn();
    log(`${what} ... ${secs(t0)}s`);
    return out;
  } catch (err) {
    log(`${what} ... failed after ${secs(t0)}s`);
    throw err;
  }
}

function secs(t0: number): string {
  const s = (Date.now() - t0) / 1000;
  return s >= 10 ? s.toFixed(0) : s.toFixed(1);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(
      'the smbdirect lab must run as root (it creates network namespaces, bridges and overlay mounts); re-run with sudo',
    );
  }
}
