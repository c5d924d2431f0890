// Runs one controller command and measures it: wall time, CPU time (user+sys) of its whole
// process tree, and the peak RSS of its main process.
//
// CPU: the command is started inside a fresh cgroup (v1 cpuacct, or v2 cpu.stat) by a tiny
// `sh` that moves itself into the cgroup and then execs the command, so every descendant is
// counted, including processes that daemonize and are never waited for (OpenSSH
// ControlPersist masters started by Ansible). /usr/bin/time would miss those. When no cgroup
// can be created, falls back to getrusage of the waited-for children (documented as such).
// Peak RSS: VmHWM of the main process (after the exec: node, ansible-playbook's python, or
// the floor's sh driver), polled every 20 ms; VmHWM is a high-water mark, so polling only
// misses growth in the last few milliseconds before exit.
// After the command exits, any process left in its cgroup (ControlPersist masters) is sent
// SIGTERM by PID (they were started by this command), so every run starts with cold masters.

import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Measured {
  code: number;
  wallMs: number;
  /** user+sys CPU of the whole process tree, ms. */
  cpuMs: number;
  /** 'cgroup' when every descendant was counted; 'rusage' for waited-for children only. */
  cpuSource: 'cgroup' | 'rusage';
  /** peak RSS of the main process, KiB (0 when unknown). */
  peakRssKb: number;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** kill the tree after this long (ms); the run is then reported with code 124 */
  timeoutMs?: number;
}

interface Cgroup { dir: string; usageNs(): Promise<number>; procs(): Promise<number[]> }

let seq = 0;

async function makeCgroup(): Promise<Cgroup | undefined> {
  const name = `smbdirect-bench-${process.pid}-${++seq}`;
  const v1 = '/sys/fs/cgroup/cpuacct';
  const v2 = '/sys/fs/cgroup';
  const readProcs = (dir: string) => async () =>
    (await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
  try {
    await fs.access(path.join(v1, 'cpuacct.usage'));
    const dir = path.join(v1, name);
    await fs.mkdir(dir);
    return {
      dir,
      usageNs: async () => Number((await fs.readFile(path.join(dir, 'cpuacct.usage'), 'utf8')).trim()),
      procs: readProcs(dir),
    };
  } catch { /* try v2 */ }
  try {
    await fs.access(path.join(v2, 'cgroup.controllers'));
    const dir = path.join(v2, name);
    await fs.mkdir(dir);
    return {
      dir,
      usageNs: async () => {
        const stat = await fs.readFile(path.join(dir, 'cpu.stat'), 'utf8');
        return Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0) * 1000;
      },
      procs: readProcs(dir),
    };
  } catch {
    return undefined;
  }
}

function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills what is left in the cgroup (by PID), waits until it is empty, removes it. */
async function drain(cg: Cgroup): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const left = await cg.procs();
    if (left.length === 0) return;
    for (const pid of left) {
      try { process.kill(pid, i < 50 ? 'SIGTERM' : 'SIGKILL'); } catch { /* gone */ }
    }
    await sleep(50);
  }
}

export async function measure(cmd: string, args: string[], opts: MeasureOptions = {}): Promise<Measured> {
  const cg = await makeCgroup();
  const before = cg ? await cg.usageNs() : 0;
  if (!cg) childrenCpuMs();
  const wrapped = cg
    ? ['/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg.dir, cmd, ...args]] as const
    : [cmd, args] as const;
  const t0 = process.hrtime.bigint();
  const child = spawn(wrapped[0], [...wrapped[1]], { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peak = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.input ?? '');
  const pid = child.pid ?? -1;
  const poll = setInterval(() => { peak = Math.max(peak, vmHwmKb(pid)); }, 20);
  let timedOut = false;
  const timer = opts.timeoutMs ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs) : undefined;
  // 'exit' (not 'close'): the daemonized ControlPersist masters may keep our pipes open.
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : -1)));
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  clearInterval(poll);
  if (timer) clearTimeout(timer);
  let cpuMs: number;
  if (cg) {
    await drain(cg);
    cpuMs = ((await cg.usageNs()) - before) / 1e6;
    await fs.rmdir(cg.dir).catch(() => undefined);
  } else {
    // Node has no wait4 rusage per child; /proc/self/stat's cutime+cstime counts waited-for children.
    cpuMs = childrenCpuMs();
  }
  // Give pipes a moment to flush once the main process has gone.
  await new Promise<void>((r) => { if (child.stdout.readableEnded) r(); else { child.stdout.once('end', () => r()); setTimeout(r, 2000); } });
  return { code: timedOut ? 124 : code, wallMs, cpuMs, cpuSource: cg ? 'cgroup' : 'rusage', peakRssKb: peak, stdout, stderr };
}

let lastChildrenMs = 0;
/** CPU of reaped children since the previous call (fields 16, 17 of /proc/self/stat). */
function childrenCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(f[13]) + Number(f[14]);
  const ms = (ticks * 1000) / 100;
  const d = ms - lastChildrenMs;
  lastChildrenMs = ms;
  return d;
}
