// Watches the argv and environment of processes for secrets, without our own SSH code: it reads
// /proc directly, this machine's (the controller's processes, and the lab hosts' too: their PID
// namespaces are children of ours) or a lab host's own /proc as mounted inside its namespace.
import { readdirSync, readFileSync } from 'node:fs';

/** One process's argv (NULs as blanks) and environment, as latin1 (a byte per char), or undefined when gone. */
function readProc(proc: string, pid: string): string | undefined {
  try {
    return `${readFileSync(`${proc}/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ')}\n${readFileSync(`${proc}/${pid}/environ`, 'latin1')}`;
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/** Every process under a /proc mount: argv and environment, one string each. */
export function sample(into: string[], proc = '/proc'): void {
  for (const pid of readdirSync(proc)) {
    if (!/^\d+$/.test(pid)) continue;
    const s = readProc(proc, pid);
    if (s !== undefined) into.push(s);
  }
}

/** Samples /proc every 10 ms while `body` runs; every sample kept (for short bodies). */
export async function sampled<T>(body: () => Promise<T>): Promise<{ result: T; samples: string[]; rounds: number }> {
  const samples: string[] = [];
  let rounds = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      sample(samples);
      rounds++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    return { result: await body(), samples, rounds };
  } finally {
    running = false;
    await sampler;
  }
}

/** How a UTF-8 string reads in latin1 text from /proc. */
export const procSpelling = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

export interface Watch {
  /** Each place and needle found there: `where` is the /proc it was read from, then the process (argv only, cut). */
  found: Array<{ proc: string; needle: string; argv: string }>;
  rounds: number;
  stop(): Promise<void>;
}

/**
 * Watches several /proc mounts (`procs`: a label -> a /proc path) for `needles` in any process's
 * argv or environment, every `everyMs`, until stop(). Keeps only what it finds (a long run
 * cannot fill memory); a needle found once per process and place is recorded once.
 */
export function watchProcs(procs: Record<string, string>, needles: string[], everyMs = 20): Watch {
  const spelled = needles.map((n) => [n, procSpelling(n)] as const);
  const seen = new Set<string>();
  const w: Watch = { found: [], rounds: 0, stop: async () => { running = false; await loop; } };
  let running = true;
  const round = (): void => {
    for (const [label, proc] of Object.entries(procs)) {
      let pids: string[];
      try {
        pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
      } catch {
        continue; // the host is gone
      }
      for (const pid of pids) {
        const s = readProc(proc, pid);
        if (s === undefined) continue;
        for (const [needle, as] of spelled) {
          if (!s.includes(as) || seen.has(`${label} ${pid} ${needle}`)) continue;
          seen.add(`${label} ${pid} ${needle}`);
          w.found.push({ proc: label, needle, argv: s.split('\n')[0]!.slice(0, 200) });
        }
      }
    }
    w.rounds++;
  };
  const loop = (async () => {
    while (running) {
      round();
      await new Promise((r) => setTimeout(r, everyMs));
    }
    round(); // one last look after the body ended
  })();
  return w;
}
