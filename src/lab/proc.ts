// Process identity and killing by PID only (never by name). A PID is "ours" only while its
// /proc/PID/stat starttime matches the one recorded at spawn, so a recycled PID is never
// killed. Killed hosts may linger as zombies when nobody reaps them (PID 1 of this machine
// does not), so "alive" means: exists and not in state Z (zombie) or X (dead).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sleep } from './util.js';

interface Stat { state: string; startTime: number }

async function readStat(pid: number): Promise<Stat | undefined> {
  try {
    const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
    return { state: rest[0] ?? '?', startTime: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

export async function startTimeOf(pid: number): Promise<number | undefined> {
  return (await readStat(pid))?.startTime;
}

/** True if the process exists, is not a zombie, and (when given) started at `startTime`. */
export async function isAlive(pid: number, startTime?: number): Promise<boolean> {
  const st = await readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/** SIGKILLs each (pid, startTime) that is still ours, then waits until all are gone. */
export async function killAndWait(
  procs: Array<{ pid: number; startTime?: number }>, timeoutMs = 10_000,
): Promise<number[]> {
  const targets: Array<{ pid: number; startTime?: number }> = [];
  for (const p of procs) {
    if (!(await isAlive(p.pid, p.startTime))) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      targets.push(p);
    } catch {
      // ESRCH: already gone.
    }
  }
  const deadline = Date.now() + timeoutMs;
  let left = targets;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    const still: typeof left = [];
    for (const p of left) if (await isAlive(p.pid, p.startTime)) still.push(p);
    left = still;
  }
  return left.map((p) => p.pid);
}

/**
 * PIDs of processes whose root directory is at or below `dir`: the chrooted sshds and
 * their sessions, plus the `unshare` parent of each namespace's PID 1. Used as a safety net
 * when a host was started but its PID never made it into the state file (an `up` killed at
 * the wrong moment). Identity by root path and parenthood, never by name.
 */
export async function pidsRootedUnder(dir: string): Promise<Array<{ pid: number; startTime?: number }>> {
  const root = path.resolve(dir);
  const out: Array<{ pid: number; startTime?: number }> = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const link = await fs.readlink(`/proc/${pid}/root`).catch(() => undefined);
    if (!link || (link !== root && !link.startsWith(`${root}/`))) continue;
    out.push({ pid, startTime: await startTimeOf(pid) });
    // PID 1 of a host's PID namespace: its parent is that host's unshare (see hosts.ts).
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
    const ppid = Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1] ?? 0);
    if (nspid.length > 1 && nspid[nspid.length - 1] === '1' && ppid > 1 && ppid !== process.pid) {
      out.push({ pid: ppid, startTime: await startTimeOf(ppid) });
    }
  }
  return out;
}
