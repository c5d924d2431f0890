// The contenders, each run once on the bench inventory and measured (bench/measure.ts):
// smbdirect (`run site --json`), Ansible (bench/ansible/site.yml, tuned), the floor
// (bench/floor/parallel.sh: one plain `ssh HOST 'sh -s'` per host, all at once) and the floor
// with facts (the same, each script also gathering the system facts smbdirect's run gathers).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, type Measured } from './measure.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_SRC = path.join(ROOT, 'bench');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

export type Tool = 'smbdirect' | 'ansible' | 'floor' | 'floor-facts';

export interface Host { name: string; address: string; group: string }

export interface Context {
  hosts: Host[];
  /** bench inventory (copy of the lab's hosts.yml with group_vars/ and secrets/ beside it) */
  inventory: string;
  key: string;
  knownHosts: string;
  /** where per-run scratch files go */
  work: string;
  /** playbook for smbdirect: 'site' or 'sample' */
  playbook: string;
  /** directory of the floor's per-host scripts (NAME.sh) */
  floorDir: string;
  /** the same scripts, each also gathering smbdirect's system facts (NAME.sh) */
  floorFactsDir: string;
  timeoutMs: number;
}

export interface RunResult extends Measured {
  tool: Tool;
  /** SSH sessions per host */
  roundTrips: Record<string, number>;
  /** changes reported, summed over hosts */
  changed: number;
  /** the run reached its end state on every host (failures of read-only verify tasks excepted) */
  ok: boolean;
  problems: string[];
}

const tail = (s: string, n = 1500): string => (s.length > n ? `...${s.slice(-n)}` : s);

export const kconfigDir = (ctx: Context): string => path.join(ctx.work, 'smbdirect-kconfig');

export async function runSmbdirect(ctx: Context): Promise<RunResult> {
  // Connect timeout 30 s, as the floor's ConnectTimeout: with every host on these 2 cores, 200
  // simultaneous handshakes take longer than the default 10 s.
  const args = [CLI, 'run', ctx.playbook, '-i', ctx.inventory, '--json', '-f', String(Math.max(ctx.hosts.length, 1)), '-T', '30'];
  // Kernel config fragments (preflight, policy warn) are written on the controller: keep them in
  // the bench's scratch dir, removed before each first run so every first run writes them.
  if (ctx.playbook === 'site') args.push('-e', 'smbdirect_kernel_policy=warn', '-e', `smbdirect_fragment_dir=${kconfigDir(ctx)}`);
  const m = await measure(process.execPath, args, { env: { ...process.env, NO_COLOR: '1' }, cwd: ctx.work, timeoutMs: ctx.timeoutMs });
  const lines = m.stdout.split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } });
  const roundTrips = (lines.find((l) => l.type === 'stats')?.round_trips ?? {}) as Record<string, number>;
  const recap = (lines.find((l) => l.type === 'recap')?.hosts ?? {}) as Record<string, { changed: number; failed: number; unreachable: number }>;
  const problems: string[] = [];
  // In the lab the kernel has no SMB Direct: the read-only verify task fails by design.
  const failedTasks = lines.filter((l) => l.type === 'task' && (l.status === 'failed' || l.status === 'unreachable'));
  for (const f of failedTasks) {
    if (!/verify/.test(String(f.task))) problems.push(`${f.host}: ${f.task}: ${String(f.msg).split('\n')[0]}`);
  }
  for (const h of ctx.hosts) if (!recap[h.name]) problems.push(`${h.name}: not in the recap`);
  if (![0, 2].includes(m.code)) problems.push(`exit ${m.code}: ${tail(m.stderr)}`);
  const changed = Object.values(recap).reduce((a, r) => a + r.changed, 0);
  return { ...m, tool: 'smbdirect', roundTrips, changed, ok: problems.length === 0, problems };
}

export async function runAnsible(ctx: Context, n: number): Promise<RunResult> {
  const cp = await fs.mkdtemp(path.join(ctx.work, 'cp-'));
  const sshLog = path.join(ctx.work, `ansible-ssh-${n}.log`);
  await fs.rm(sshLog, { force: true });
  const dir = path.join(BENCH_SRC, 'ansible');
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: path.join(dir, 'ansible.cfg'),
    ANSIBLE_FORKS: String(Math.max(ctx.hosts.length, 5)),
    ANSIBLE_SSH_CONTROL_PATH_DIR: cp,
    ANSIBLE_SSH_ARGS: `-o ControlMaster=auto -o ControlPersist=60s -o KexAlgorithms=curve25519-sha256 -o BatchMode=yes -o UserKnownHostsFile=${ctx.knownHosts} -o StrictHostKeyChecking=yes`,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_LOCAL_TEMP: path.join(ctx.work, 'ansible-local'),
    SMBDIRECT_BENCH_SSH_LOG: sshLog,
  };
  const playbook = path.join(dir, ctx.playbook === 'site' ? 'site.yml' : 'sample.yml');
  const m = await measure('/usr/bin/ansible-playbook', ['-i', ctx.inventory, playbook], { env, cwd: dir, timeoutMs: ctx.timeoutMs });
  await fs.rm(cp, { recursive: true, force: true });
  // Round trips: one line per ssh session in the wrapper's log; find the host by its address.
  const byAddr = new Map(ctx.hosts.map((h) => [h.address, h.name]));
  const roundTrips: Record<string, number> = Object.fromEntries(ctx.hosts.map((h) => [h.name, 0]));
  const log = await fs.readFile(sshLog, 'utf8').catch(() => '');
  for (const line of log.split('\n').filter(Boolean)) {
    const addr = line.split(/\s+/).map((w) => w.replace(/^\[|\]$/g, '').replace(/^root@/, '')).find((w) => byAddr.has(w));
    if (addr) roundTrips[byAddr.get(addr)!]! += 1;
  }
  const problems: string[] = [];
  let changed = 0;
  const seen = new Set<string>();
  for (const mm of m.stdout.matchAll(/^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    seen.add(mm[1]!);
    changed += Number(mm[3]);
    if (Number(mm[4]) || Number(mm[5])) problems.push(`${mm[1]}: unreachable=${mm[4]} failed=${mm[5]}`);
  }
  for (const h of ctx.hosts) if (!seen.has(h.name)) problems.push(`${h.name}: not in the recap`);
  if (m.code !== 0) problems.push(`exit ${m.code}: ${tail(m.stdout + m.stderr)}`);
  return { ...m, tool: 'ansible', roundTrips, changed, ok: problems.length === 0, problems };
}

/** Runs per-host scripts from DIR on every host at once (the floor, and the reset). */
export async function runFloor(ctx: Context, dir = ctx.floorDir, tool: Tool = 'floor'): Promise<RunResult> {
  const args = [ctx.key, ctx.knownHosts, dir, ...ctx.hosts.map((h) => `${h.address}=${h.name}`)];
  const m = await measure('/bin/sh', [path.join(BENCH_SRC, 'floor', 'parallel.sh'), ...args], { timeoutMs: ctx.timeoutMs });
  const problems: string[] = [];
  let changed = 0;
  const seen = new Set<string>();
  for (const line of m.stdout.split('\n').filter(Boolean)) {
    const mm = /^(\S+) rc=(\d+) (.*)$/.exec(line);
    if (!mm) continue;
    seen.add(mm[1]!);
    const c = /changed=(\d+)\s*$/.exec(mm[3]!);
    changed += Number(c?.[1] ?? 0);
    if (mm[2] !== '0' || !c) problems.push(`${mm[1]}: rc=${mm[2]} ${tail(mm[3]!, 300)}`);
  }
  for (const h of ctx.hosts) if (!seen.has(h.name)) problems.push(`${h.name}: no result`);
  const roundTrips = Object.fromEntries(ctx.hosts.map((h) => [h.name, 1]));
  return { ...m, tool, roundTrips, changed, ok: problems.length === 0, problems };
}
