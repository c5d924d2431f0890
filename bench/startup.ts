// The start-up rows of the bench (#14): commands that open no SSH connection, each against a
// bare `node -e 0` measured in the same run, interleaved, so that the machine's load at the time
// weighs on all alike. Best (min) and median wall time, and the best CPU time, over the runs.
import os from 'node:os';
import { measure } from './measure.js';
import { median } from './report.js';
import { CLI, ROOT } from './tools.js';

export interface StartupRow { what: string; runs: number; bestWallMs: number; medianWallMs: number; bestCpuMs: number }
export interface StartupResult { date: string; load: number; rows: StartupRow[] }

const COMMANDS: Array<[string, string[]]> = [
  ['node -e 0 (baseline)', ['-e', '0']],
  ['smbdirect --version', [CLI, '--version']],
  ['smbdirect --help', [CLI, '--help']],
  ['smbdirect inventory -i inventory/example --list', [CLI, 'inventory', '-i', 'inventory/example', '--list']],
];

export async function measureStartup(runs: number): Promise<StartupResult> {
  const load = os.loadavg()[0]!;
  const samples = COMMANDS.map(() => [] as Array<{ wall: number; cpu: number }>);
  for (let rep = 0; rep < runs + 1; rep++) {
    for (const [i, [what, args]] of COMMANDS.entries()) {
      const m = await measure(process.execPath, args, { cwd: ROOT });
      if (m.code !== 0) throw new Error(`start-up: ${what} exited ${m.code}: ${m.stderr.trim()}`);
      if (rep > 0) samples[i]!.push({ wall: m.wallMs, cpu: m.cpuMs }); // the first round warms the page cache
    }
  }
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    load,
    rows: COMMANDS.map(([what], i) => ({
      what,
      runs,
      bestWallMs: Math.min(...samples[i]!.map((s) => s.wall)),
      medianWallMs: median(samples[i]!.map((s) => s.wall)),
      bestCpuMs: Math.min(...samples[i]!.map((s) => s.cpu)),
    })),
  };
}

export function startupTable(r: StartupResult): string[][] {
  const base = r.rows[0]!;
  const s = (ms: number) => (ms / 1000).toFixed(3);
  return [
    ['command', 'runs', 'best wall s', 'median wall s', 'best CPU s', 'best wall over node -e 0 s'],
    ...r.rows.map((x) => [x.what, String(x.runs), s(x.bestWallMs), s(x.medianWallMs), s(x.bestCpuMs), x === base ? '-' : `${x.bestWallMs >= base.bestWallMs ? '+' : ''}${s(x.bestWallMs - base.bestWallMs)}`]),
  ];
}
