// `npm run bench`: smbdirect vs tuned Ansible vs the plain-SSH floor on a lab of real sshd hosts.
// See docs/benchmarks.md for what is measured and how. Needs root (the lab) and a build.
//
//   node dist/bench/run.js [--hosts 1,10,50] [--runs 3] [--ansible-runs N] [--quick] [--max]
//                          [--no-ansible] [--keep-lab] [--state-dir DIR] [--no-docs]
//                          [--startup-runs K] [--startup-only]
// --ansible-runs: fewer runs for Ansible alone (a 50-host run takes minutes, and varies little).
// --startup-runs: runs of each start-up row (bench/startup.ts; 0: none); --startup-only: no lab.

import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labDown, labStatus, labUp } from '../src/lab/lab.js';
import { ensurePrerequisites } from '../src/prereqs.js';
import { loadKconfigRead } from '../src/facts/kconfig-cache.js';
import {
  TOOLS, machine, markdown, median, ratioRows, svg, table, textTable,
  type Figure, type Phase, type SizeResult,
} from './report.js';
import { measureStartup, startupTable, type StartupResult } from './startup.js';
import { compareWithReference, floorFactsScript, floorScript, planHost, resetScript, snapshotUpper, type HostPlan, type Snapshot } from './state.js';
import { BENCH_SRC, CLI, ROOT, kconfigDir, runAnsible, runFloor, runSmbdirect, type Context, type Host, type RunResult, type Tool } from './tools.js';
import { YAML } from 'zx';

interface Options {
  sizes: number[];
  runs: number;
  /** Runs for Ansible (default: --runs). */
  ansibleRuns?: number;
  ansible: boolean;
  keepLab: boolean;
  stateDir: string;
  docs: boolean;
  startupRuns: number;
  startupOnly: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizes: [1, 10, 50], runs: 3, ansible: true, keepLab: false, stateDir: '/var/lib/smbdirect-provision/bench-lab', docs: true, startupRuns: 10, startupOnly: false };
  let max = false;
  let sizesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--hosts') { o.sizes = val().split(',').map((x) => Number(x.trim())); sizesGiven = true; }
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--ansible-runs') o.ansibleRuns = Number(val());
    else if (a === '--quick') o.runs = 1;
    else if (a === '--max') max = true;
    else if (a === '--no-ansible') o.ansible = false;
    else if (a === '--keep-lab') o.keepLab = true;
    else if (a === '--state-dir') o.stateDir = path.resolve(val());
    else if (a === '--no-docs') o.docs = false;
    else if (a === '--startup-runs') o.startupRuns = Number(val());
    else if (a === '--startup-only') { o.startupOnly = true; o.sizes = []; }
    else if (a === '--help' || a === '-h') {
      console.log('usage: node dist/bench/run.js [--hosts 1,10,50] [--runs 3] [--ansible-runs N] [--quick] [--max] [--no-ansible] [--keep-lab] [--state-dir DIR] [--no-docs] [--startup-runs K] [--startup-only]');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (max && !sizesGiven) o.sizes.push(200);
  else if (max) o.sizes.push(...(o.sizes.includes(200) ? [] : [200]));
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 500)) throw new Error('--hosts: whole numbers 1-500');
  if (!Number.isInteger(o.startupRuns) || o.startupRuns < 0) throw new Error('--startup-runs: a whole number >= 0');
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs: a whole number >= 1');
  if (o.ansibleRuns !== undefined && (!Number.isInteger(o.ansibleRuns) || o.ansibleRuns < 1 || o.ansibleRuns > o.runs)) throw new Error('--ansible-runs: a whole number from 1 to --runs');
  return o;
}

const log = (line: string): void => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`); };

/**
 * Enough memory for N hosts plus, with Ansible, its N forks (~60 MB each)? A lab host took 5.6 MB
 * at the peak of a site run (2.7 idle, measured on 100 hosts, 2026-12-02); 16 MB leaves room.
 */
function memoryAllows(n: number, ansible: boolean): boolean {
  return os.freemem() > n * (ansible ? 80 : 16) * 2 ** 20 + 2 * 2 ** 30;
}

/** The bench inventory: the lab's hosts.yml, group_vars from bench/vars.yml, password files. */
async function writeInventory(labInventory: string, dir: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'group_vars'), { recursive: true });
  await fs.mkdir(path.join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const inv = path.join(dir, 'hosts.yml');
  await fs.copyFile(labInventory, inv);
  const vars = YAML.parse(await fs.readFile(path.join(BENCH_SRC, 'vars.yml'), 'utf8')) as Record<string, unknown>;
  for (const [group, v] of Object.entries(vars)) {
    await fs.writeFile(path.join(dir, 'group_vars', `${group}.yml`), YAML.stringify(v));
  }
  // Passwords with characters that need care in a credentials file and in ksmbd's DB.
  await fs.writeFile(path.join(dir, 'secrets', 'alice.pw'), 'alice pw;#1=$(x)\n', { mode: 0o600 });
  await fs.writeFile(path.join(dir, 'secrets', 'bob.pw'), 'b0b-secret,42\n', { mode: 0o600 });
  return inv;
}

interface LabHost extends Host { upper: string; lower: string; root: string }

async function labHosts(stateDir: string): Promise<LabHost[]> {
  const st = await labStatus({ stateDir });
  const mounts = await fs.readFile('/proc/mounts', 'utf8');
  return st.hosts.map((h) => {
    const root = path.join(stateDir, 'hosts', h.name, 'root');
    const line = mounts.split('\n').find((l) => l.split(' ')[1] === root) ?? '';
    const lower = /lowerdir=([^,\s]+)/.exec(line)?.[1];
    if (!lower) throw new Error(`${h.name}: no overlay mounted at ${root}`);
    return { name: h.name, address: h.address, group: h.group, upper: path.join(stateDir, 'hosts', h.name, 'upper'), lower, root };
  });
}

/** Medians over the runs that reached their end state (a failed run's timings mean nothing). */
function figure(all: RunResult[]): Figure {
  const runs = all.some((r) => r.ok) ? all.filter((r) => r.ok) : all;
  const lastRt = Object.values(runs.at(-1)?.roundTrips ?? {});
  return {
    wallMs: median(runs.map((r) => r.wallMs)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    peakRssKb: median(runs.map((r) => r.peakRssKb)),
    samplesWallMs: runs.map((r) => Math.round(r.wallMs)),
    rtMin: lastRt.length ? Math.min(...lastRt) : 0,
    rtMax: lastRt.length ? Math.max(...lastRt) : 0,
    changed: runs.at(-1)?.changed ?? 0,
  };
}

/** The share of all CPUs' time (%) that was not idle or iowait over the next MS milliseconds (/proc/stat). */
async function cpuBusy(ms: number): Promise<number> {
  const sample = async (): Promise<number[]> => (await fs.readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const a = await sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = await sample();
  const d = b.map((v, i) => v - (a[i] ?? 0));
  const total = d.reduce((x, y) => x + y, 0);
  const idle = (d[3] ?? 0) + (d[4] ?? 0);
  return total > 0 ? (100 * (total - idle)) / total : 0;
}

async function benchSize(n: number, o: Options): Promise<SizeResult> {
  const load = os.loadavg()[0];
  const busyPct = await cpuBusy(2000);
  const servers = Math.max(1, Math.round(n * 0.2));
  const clients = n - servers;
  log(`N=${n}: CPU ${busyPct.toFixed(0)}% busy over the last 2 s, load ${load?.toFixed(1) ?? '?'}; lab up (${servers} servers, ${clients} clients) in ${o.stateDir}`);
  const labInv = await labUp({ servers, clients, stateDir: o.stateDir, log: () => undefined });
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `smbdirect-bench-${n}-`));
  try {
    const hosts = await labHosts(o.stateDir);
    const ctx: Context = {
      hosts,
      inventory: await writeInventory(labInv, path.join(work, 'inventory')),
      key: path.join(o.stateDir, 'id_ed25519'),
      knownHosts: path.join(o.stateDir, 'known_hosts'),
      work,
      playbook: 'site',
      floorDir: path.join(work, 'floor'),
      floorFactsDir: path.join(work, 'floor-facts'),
      timeoutMs: 60 * 60 * 1000,
    };
    const resetDir = path.join(work, 'reset');
    await fs.mkdir(ctx.floorDir);
    await fs.mkdir(ctx.floorFactsDir);
    await fs.mkdir(resetDir);
    const lib = await fs.readFile(path.join(BENCH_SRC, 'floor', 'lib.sh'), 'utf8');
    const before = new Map<string, Snapshot>();
    for (const h of hosts) before.set(h.name, await snapshotUpper(h.upper));

    const results: Record<Tool, Record<Phase, RunResult[]>> = {
      smbdirect: { first: [], second: [] }, ansible: { first: [], second: [] }, floor: { first: [], second: [] }, 'floor-facts': { first: [], second: [] },
    };
    const problems: string[] = [];
    const endState: SizeResult['endState'] = {};
    let plans: HostPlan[] = [];
    const tools: Tool[] = o.ansible ? ['smbdirect', 'ansible', 'floor', 'floor-facts'] : ['smbdirect', 'floor', 'floor-facts'];
    const runsOf = (t: Tool): number => (t === 'ansible' ? (o.ansibleRuns ?? o.runs) : o.runs);

    const reset = async (): Promise<void> => {
      const r = await runFloor(ctx, resetDir, 'floor');
      if (!r.ok) throw new Error(`reset failed: ${r.problems.join('; ')}`);
    };
    const record = (t: Tool, phase: Phase, r: RunResult): void => {
      results[t][phase].push(r);
      const rts = Object.values(r.roundTrips);
      log(`N=${n} ${t} ${phase}: wall ${(r.wallMs / 1000).toFixed(2)} s, CPU ${(r.cpuMs / 1000).toFixed(2)} s, RSS ${(r.peakRssKb / 1024).toFixed(0)} MB, round trips ${Math.min(...rts)}-${Math.max(...rts)}/host, changed ${r.changed}${r.ok ? '' : `, PROBLEMS: ${r.problems.slice(0, 3).join(' | ')}`}`);
      for (const p of r.problems) problems.push(`${t} ${phase}: ${p}`);
      if (phase === 'second' && r.changed !== 0) problems.push(`${t} second run reported ${r.changed} change(s)`);
    };

    for (let rep = 1; rep <= o.runs; rep++) {
      for (const t of tools) {
        if (rep > runsOf(t)) continue;
        if (!(rep === 1 && t === 'smbdirect')) await reset();
        if (t === 'smbdirect') await fs.rm(kconfigDir(ctx), { recursive: true, force: true });
        const run = t === 'smbdirect' ? () => runSmbdirect(ctx) : t === 'ansible' ? () => runAnsible(ctx, rep)
          : t === 'floor' ? () => runFloor(ctx) : () => runFloor(ctx, ctx.floorFactsDir, 'floor-facts');
        if (t.startsWith('floor') && plans.length === 0) throw new Error('no managed set: smbdirect must run first');
        const first = await run();
        record(t, 'first', first);
        if (rep === 1 && t === 'smbdirect') {
          plans = await Promise.all(hosts.map((h) => planHost(h.name, h.upper, h.lower, before.get(h.name)!)));
          for (const p of plans) {
            await fs.writeFile(path.join(ctx.floorDir, `${p.name}.sh`), floorScript(lib, p));
            await fs.writeFile(path.join(ctx.floorFactsDir, `${p.name}.sh`), floorFactsScript(lib, p, loadKconfigRead(p.name)));
            await fs.writeFile(path.join(resetDir, `${p.name}.sh`), resetScript(lib, p));
          }
          log(`N=${n}: managed paths per host: ${[...new Set(plans.map((p) => p.reference.size))].join(', ')}`);
        } else if (rep === 1) {
          const diffs = (await Promise.all(plans.map(async (p) => (await compareWithReference(p, hosts.find((h) => h.name === p.name)!.root)).map((d) => `${p.name}:${d}`)))).flat();
          endState[t] = diffs;
          if (diffs.length) log(`N=${n} ${t}: end state differs from smbdirect's on ${diffs.length} path(s): ${diffs.slice(0, 5).join(', ')}`);
        }
        record(t, 'second', await run());
      }
    }
    await reset();

    const figures: SizeResult['figures'] = {};
    for (const t of tools) figures[t] = { first: figure(results[t].first), second: figure(results[t].second) };
    return {
      n, servers, clients,
      runs: Object.fromEntries(TOOLS.map((t) => [t, tools.includes(t) ? runsOf(t) : 0])) as Record<Tool, number>,
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      machine: machine(),
      load,
      busyPct,
      cpuSource: results.smbdirect.first[0]?.cpuSource ?? 'cgroup',
      figures, endState,
      managedPaths: Math.max(0, ...plans.map((p) => p.reference.size)),
      problems: [...new Set(problems)],
    };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
    if (!o.keepLab) {
      log(`N=${n}: lab down`);
      await labDown({ stateDir: o.stateDir });
    }
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the bench brings up a lab of real hosts: run it as root');
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: build first (npx tsc -p .)`);
  if (!o.startupOnly) await ensurePrerequisites(o.ansible ? ['lab', 'bench'] : ['lab'], log);
  const store = path.join(ROOT, 'docs', 'benchmarks.json');
  const stored: SizeResult[] = existsSync(store) ? JSON.parse(await fs.readFile(store, 'utf8')) as SizeResult[] : [];
  const fresh: SizeResult[] = [];
  const startupStore = path.join(ROOT, 'docs', 'benchmarks-startup.json');
  let startup: StartupResult | undefined = existsSync(startupStore) ? JSON.parse(await fs.readFile(startupStore, 'utf8')) as StartupResult : undefined;
  const writeDocs = async (): Promise<void> => {
    const all = [...stored.filter((s) => !fresh.some((f) => f.n === s.n)), ...fresh].sort((a, b) => a.n - b.n);
    await fs.writeFile(store, `${JSON.stringify(all, null, 1)}\n`);
    const analysis = await fs.readFile(path.join(BENCH_SRC, 'analysis.md'), 'utf8').catch(() => '');
    await fs.writeFile(path.join(ROOT, 'docs', 'benchmarks.md'), markdown(all, [], analysis, startup));
    await fs.writeFile(path.join(ROOT, 'docs', 'benchmarks.svg'), svg(all));
  };
  if (o.startupRuns > 0) {
    // First, before any lab host runs on the same cores.
    log(`start-up: ${o.startupRuns} runs of each row`);
    startup = await measureStartup(o.startupRuns);
    console.log(`\n${textTable(startupTable(startup))}\n(load ${startup.load.toFixed(2)})\n`);
    if (o.docs) await fs.writeFile(startupStore, `${JSON.stringify(startup, null, 1)}\n`);
  }
  if (o.docs && o.startupOnly) await writeDocs();
  for (const n of o.sizes) {
    if (!memoryAllows(n, o.ansible)) { log(`N=${n}: skipped, not enough free memory`); continue; }
    const r = await benchSize(n, o);
    fresh.push(r);
    console.log(`\n${textTable(table([r]))}\n\n${textTable(ratioRows([r]))}\n`);
    if (r.problems.length) console.log(`problems:\n  ${r.problems.join('\n  ')}\n`);
    if (o.docs) await writeDocs();
  }
  if (o.docs) log('wrote docs/benchmarks.md, docs/benchmarks.svg, docs/benchmarks.json');
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
