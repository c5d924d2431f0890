/**
 * Starts the server's side of the throughput probe (issue #15, item 2): a sampler, detached from
 * the run, that records this server's CPU at each probe marker a client writes into its shares
 * (src/smb/probe-sampler.ts), so that the server's CPU time per client and phase can be read
 * without a clock shared between the hosts. It runs as this task's probe, during fact gathering;
 * the plan only reads what it printed, so the task is always ok (0 changes). The sampler writes
 * nothing but its own directory under /run and ends by itself (collected by
 * smbdirect/probe-server-collect, or after the client probe's time limit + 120 s without a marker,
 * removing its directory). A sampler that cannot start is a warning, never a failure: the client
 * probe goes on without the server's figures. Under --check it only looks and starts nothing.
 * Vars: ksmbd_shares (the directories watched), smbdirect_probe_size_mib (the time limit).
 * Example: playbooks/probe.yml, its first play -> "sampler started (PID 4242): watching /srv/data".
 */
import { smbModelOrUndefined } from '../../src/smb/cluster.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';
import { probeVars } from '../../src/smb/probe.js';
import { probeTimeoutS } from '../../src/smb/probe-script.js';
import { SAMPLER_MARGIN_S, samplerStartScript } from '../../src/smb/probe-sampler.js';
import { startVerdict } from '../../src/smb/probe-server.js';
import type { ProbeCommand, Task, Vars } from '../../src/types.js';

export const START_PROBE = 'probe-sampler:start';

/** The share directories to watch; none when the vars do not validate (the validate task says why). */
const shareDirs = (vars: Vars, host: string): string[] => smbModelOrUndefined(vars, host)?.shares.map((s) => s.path) ?? [];

/** Seconds the sampler waits for a new marker: one client probe's whole time limit, plus a margin. */
export const samplerIdleS = (sizeMiB: number): number => probeTimeoutS(sizeMiB) + SAMPLER_MARGIN_S;

function probes(vars: Vars, host: string, check = false): Record<string, ProbeCommand> {
  const pv = probeVars(vars, host);
  const shares = shareDirs(vars, host);
  if ('error' in pv || !shares.length) return {};
  return { [START_PROBE]: { script: samplerStartScript({ shares, idleS: samplerIdleS(pv.sizeMiB), check }), timeoutS: 30 } };
}

const task: Task = {
  name: 'smbdirect: probe, server CPU sampler (start)',
  tags: ['smbdirect', 'probe'],
  inventoryVars: clusterVars,
  probes,
  plan({ vars, host, facts }) {
    // Nothing to watch? Then the size does not matter either.
    const model = smbModelOrUndefined(vars, host);
    if (!model) return { status: 'skip', msg: 'the SMB variables do not validate (the verify playbook says why): server CPU not measured' };
    if (!model.shares.length) return { status: 'skip', msg: 'no ksmbd_shares on this host: no share to watch' };
    const size = probeVars(vars, host);
    if ('error' in size) return { status: 'fail', msg: size.error };
    const r = facts.probes[START_PROBE];
    const v = r ? startVerdict(r.stdout, r.code) : { ok: false as const, why: 'the start probe did not run (no result in the facts)' };
    if (!v.ok) return { status: 'ok', msg: `server CPU will not be measured: ${v.why}`, warnings: [`server CPU will not be measured: ${v.why}`] };
    const missing = v.missing.length ? `; not there (not watched): ${v.missing.join(', ')}` : '';
    if (!v.started) return { status: 'ok', msg: `check mode, nothing started: would watch ${v.shares.join(', ')}${missing}` };
    return { status: 'ok', msg: `sampler started (PID ${v.started.pid}, ends after ${v.started.idleS} s without a probe marker): watching ${v.shares.join(', ')}${missing}` };
  },
};
export default task;
