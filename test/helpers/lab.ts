// Test helpers for the real lab: a private lab per test file, and the CLI run as a user would run it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { testStateDir } from './state-dir.js';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { YAML } from 'zx';
import { labDown, labStatus, labUp } from '../../src/lab/lab.js';

export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

export interface Lab {
  stateDir: string;
  inventory: string;
  /** The host's root filesystem as seen from the controller (to check files without our own SSH code). */
  root(host: string): string;
  pid(host: string): Promise<number>;
}

/** Brings a lab up for this test file and tears it down at the end; fails (never skips) if it cannot start.
 * `bastion`: the lab's other hosts answer only through the host `bastion` (lab up --bastion). */
export async function startLab(t: Test, servers: number, clients: number, opts: { bastion?: boolean } = {}): Promise<Lab> {
  const stateDir = testStateDir('test-lab-');
  t.teardown(() => labDown({ stateDir }));
  const inventory = await labUp({ servers, clients, stateDir, ...opts });
  return {
    stateDir,
    inventory,
    root: (host) => join(stateDir, 'hosts', host, 'root'),
    pid: async (host) => (await labStatus({ stateDir })).hosts.find((h) => h.name === host)!.pid,
  };
}

/** The lab's hosts (name -> address, from its inventory) and the controller's root login to them. */
export function labAccess(lab: Lab): { addr: Record<string, string>; hosts: string[]; key: string; known: string; login: Record<string, string> } {
  const addr = Object.fromEntries([...readFileSync(lab.inventory, 'utf8').matchAll(/^\s+(\w+): \{ ansible_host: ([\d.]+) \}$/gm)].map((m) => [m[1]!, m[2]!]));
  const key = join(lab.stateDir, 'id_ed25519');
  const known = join(lab.stateDir, 'known_hosts');
  return { addr, hosts: Object.keys(addr), key, known, login: { ansible_user: 'root', ansible_ssh_private_key_file: key, smbdirect_known_hosts: known } };
}

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs the CLI with this node, or with `via` (argv that runs a program elsewhere: another
 * release's controller, test/helpers/trixie-controller.ts) and that place's `node`. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; deadlineMs?: number; via?: string[] } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...argv] = opts.via ? [...opts.via, 'node', CLI, ...args] : [process.execPath, CLI, ...args];
    const p = spawn(cmd!, argv, { env: { ...process.env, NO_COLOR: '1', ...opts.env } });
    let stdout = '';
    let stderr = '';
    // A run that hangs fails its own test (SIGKILL, code -1, said in stderr), not the whole file by timeout.
    const deadline = opts.deadlineMs === undefined ? undefined : setTimeout(() => {
      stderr += `\n(test deadline: killed after ${opts.deadlineMs! / 1000} s)\n`;
      p.kill('SIGKILL');
    }, opts.deadlineMs);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => { clearTimeout(deadline); resolve({ code: code ?? -1, stdout, stderr }); });
    p.stdin.end(opts.input ?? '');
  });
}

export interface JsonRun { code: number; /** Every JSON line, parsed (warnings too). */ lines: unknown[]; results: Array<{ host: string; task: string; status: string; msg: string; report?: string; warnings?: string[] }>; recap: Record<string, Record<string, number>>; roundTrips: Record<string, number>; stderr: string }

/** Runs with --json and parses the lines. */
export async function runJson(args: string[], env?: NodeJS.ProcessEnv, deadlineMs?: number, via?: string[]): Promise<JsonRun> {
  const r = await runCli([...args, '--json'], { env, deadlineMs, via });
  const lines = r.stdout.trim().split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return deadlineMs === undefined ? [JSON.parse(l)] : []; } });
  return {
    code: r.code,
    lines,
    results: lines.filter((l) => l.type === 'task'),
    recap: lines.find((l) => l.type === 'recap')?.hosts ?? {},
    roundTrips: lines.find((l) => l.type === 'stats')?.round_trips ?? {},
    stderr: r.stderr,
  };
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The bench's inventory for the lab's hosts (group_vars from bench/vars.yml, password files), for
 * the `site` playbook; returns its hosts.yml. */
export function benchInventory(lab: Lab): string {
  const dir = tmp('sd-bench-inv-');
  copyFileSync(lab.inventory, join(dir, 'hosts.yml'));
  mkdirSync(join(dir, 'group_vars'));
  mkdirSync(join(dir, 'secrets'), { mode: 0o700 });
  const vars = YAML.parse(readFileSync(fileURLToPath(new URL('../../bench/vars.yml', import.meta.url)), 'utf8')) as Record<string, unknown>;
  for (const [g, v] of Object.entries(vars)) writeFileSync(join(dir, 'group_vars', `${g}.yml`), YAML.stringify(v));
  writeFileSync(join(dir, 'secrets', 'alice.pw'), 'alice-pw\n', { mode: 0o600 });
  writeFileSync(join(dir, 'secrets', 'bob.pw'), 'bob-pw\n', { mode: 0o600 });
  return join(dir, 'hosts.yml');
}

/** Every path in the host's overlay upper dir (what differs from the base image) with its type,
 * mode, size, content hash and (unless `mtime: false`) mtime: files read without our own SSH code. */
export function upperSnapshot(lab: Lab, host: string, opts: { mtime?: boolean } = {}): Map<string, string> {
  const upper = join(lab.stateDir, 'hosts', host, 'upper');
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const what = st.isSymbolicLink() ? `link ${readlinkSync(p)}` : st.isFile() ? `file ${createHash('sha256').update(readFileSync(p)).digest('hex')}` : st.isDirectory() ? 'dir' : 'other';
      out.set(relative(upper, p), `${what} ${st.mode.toString(8)} ${st.size}${opts.mtime === false ? '' : ` ${st.mtimeMs}`}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(upper);
  return out;
}

/** The paths whose entry differs between two upperSnapshot()s, sorted. */
export const changedPaths = (before: Map<string, string>, after: Map<string, string>): string[] =>
  [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();

/** The most intervals open at once (an end at the same instant as a start does not overlap it). */
export function maxOverlap(intervals: Array<[number, number]>): number {
  const events = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (open += d));
  return most;
}
