// Test helpers for the qemu VM lab: a lab per test file (torn down by its recorded PIDs at the
// end), root shell access to its VMs with the system's OpenSSH client (not our own SSH code, so a
// check never trusts what it checks), waiting for a condition, and the CLI run with --json.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { testStateDir } from './state-dir.js';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { sshOpts, vmLabDown, vmLabStatus, vmLabUp, type VmLabOpts } from '../../src/lab/vm.js';
import { runJson, type JsonRun } from './lab.js';

const pexec = promisify(execFile);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export interface Shell { code: number; stdout: string; stderr: string }

export interface VmLab {
  stateDir: string;
  /** The inventory the lab wrote. */
  inventory: string;
  log(line: string): void;
  /** Runs `script` as root on `host`. ok=true: a failure throws (after retrying while sshd is not up yet). */
  ssh(host: string, script: string, ok?: boolean, tries?: number): Promise<Shell>;
  /** Polls `probe` every 3 s until it returns something, or throws after `seconds`. */
  waitFor<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T>;
  /** `smbdirect run PLAYBOOK -i INVENTORY_DIR ... --json`, timed and logged (failures with their reports). */
  run(inventoryDir: string, playbook: string, ...extra: string[]): Promise<JsonRun>;
  /** The same, run through `via` (another controller: test/helpers/trixie-controller.ts). */
  runVia(via: string[], inventoryDir: string, playbook: string, ...extra: string[]): Promise<JsonRun>;
  /** The PID of a VM's qemu while it is alive (ours: recorded by the lab). */
  qemuPid(host: string): Promise<number | undefined>;
}

/** Boots a VM lab for this test file; throws (the test fails, never skips) if a VM cannot start. */
export async function startVmLab(t: Test, prefix: string, opts: Omit<VmLabOpts, 'stateDir' | 'log'>): Promise<VmLab> {
  const T0 = Date.now();
  const log = (line: string) => process.stderr.write(`[${((Date.now() - T0) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
  const stateDir = testStateDir(prefix);
  t.teardown(async () => {
    await vmLabDown({ stateDir, log }); // exactly the qemu processes and the hub it started
    rmSync(stateDir, { recursive: true, force: true });
    log(`total ${((Date.now() - T0) / 1000).toFixed(0)}s`);
  });
  const inventory = await vmLabUp({ ...opts, stateDir, log });
  const ports: Record<string, number> = Object.fromEntries((await vmLabStatus({ stateDir })).vms.map((v) => [v.name, v.sshPort]));

  const ssh = async (host: string, script: string, ok = true, tries = 5): Promise<Shell> => {
    try {
      const r = await pexec('ssh', [...sshOpts(stateDir), '-p', String(ports[host]), 'root@127.0.0.1', script], { maxBuffer: 1 << 24, timeout: 300_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      if (ok && err.code === 255 && tries > 1) return sleep(3000).then(() => ssh(host, script, ok, tries - 1)); // sshd just (re)started
      if (ok) throw new Error(`${host}: ${script}: exit ${err.code}: ${err.stderr ?? ''}`);
      return { code: typeof err.code === 'number' ? err.code : 255, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  };
  const waitFor = async <T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> => {
    const t0 = Date.now();
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return log(`${what}: ${((Date.now() - t0) / 1000).toFixed(0)}s`), v;
      if (Date.now() - t0 > seconds * 1000) throw new Error(`${what}: not after ${seconds}s`);
      await sleep(3000);
    }
  };
  const runVia = async (via: string[] | undefined, inventoryDir: string, playbook: string, ...extra: string[]): Promise<JsonRun> => {
    const t0 = Date.now();
    const r = await runJson(['run', playbook, '-i', inventoryDir, ...extra], undefined, 30 * 60_000, via);
    log(`run ${playbook} ${extra.join(' ')}${via ? ' (via another controller)' : ''}: exit ${r.code} in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    if (r.code !== 0) log(r.results.filter((x) => x.status === 'failed').map((x) => `${x.host} ${x.task}: ${x.msg}${x.report ? `\n${x.report}` : ''}`).join('\n'));
    return r;
  };
  const qemuPid = async (host: string) => (await vmLabStatus({ stateDir })).vms.find((v) => v.name === host && v.alive)?.pid;
  const run = (inventoryDir: string, playbook: string, ...extra: string[]) => runVia(undefined, inventoryDir, playbook, ...extra);
  return { stateDir, inventory, log, ssh, waitFor, run, runVia, qemuPid };
}

/** The task result of `host` whose name matches `task`. */
export const result = (r: JsonRun, host: string, task: RegExp) => r.results.find((x) => x.host === host && task.test(x.task));
/** Changed count per host, from the recap. */
export const changed = (r: JsonRun) => Object.fromEntries(Object.entries(r.recap).map(([h, s]) => [h, s.changed]));
