/**
 * Measures SMB Direct against plain SMB on each smb_mounts entry of a client and leaves nothing
 * behind (issue #15, item 2): through the RDMA mount, then through a temporary TCP mount of the
 * same share (same credentials file, vers of the mount without rdma, nosharesock) under /run, it
 * writes then reads a file .smbdirect-probe.RANDOM.rdma / .tcp with direct I/O (fio when installed, else
 * dd), and reports MB/s each way, the RDMA/TCP read ratio and the client's CPU time. The work runs
 * as this task's probe, during fact gathering (src/smb/probe-script.ts: checks, cleanup trap);
 * this plan only reads it, so the task is always ok or fail, never a change. Refused per mount:
 * not mounted with rdma, less free space than 2 x size + 64 MiB. Under --check the probe only
 * checks the mount, the free space and the tool: nothing is written or mounted. Each transfer is
 * framed by marker files in the share, from which the server's sampler (smbdirect/probe-server-start
 * and -collect) reads the server's CPU; the measure carries the probe's ID to match them.
 * Vars: smbdirect_probe_size_mib (64), smbdirect_probe_tool (auto|fio|dd), smb_mounts, smbdirect_cluster.
 * Example: `smbdirect run probe -i INV -e smbdirect_probe_size_mib=256` -> per mount: RDMA and TCP write/read MB/s, RDMA/TCP read ratio, client CPU s.
 */
import { serverAddress, smbModel, smbModelOrUndefined } from '../../src/smb/cluster.js';
import { credentialsPath } from '../../src/smb/credentials.js';
import { managedOptions, mountSource } from '../../src/smb/fstab.js';
import { probeTable, probeVars, probeVerdict } from '../../src/smb/probe.js';
import { probeScript, probeTimeoutS, tcpOptions } from '../../src/smb/probe-script.js';
import type { ProbeCommand, ProbeMeasure, Task, Vars } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

export const probeName = (path: string): string => `throughput:${path}`;

/** One probe per mount, each with its own time limit; none when the vars do not validate (plan says why). */
function probes(vars: Vars, host: string, check = false): Record<string, ProbeCommand> {
  const pv = probeVars(vars, host);
  const model = smbModelOrUndefined(vars, host);
  if ('error' in pv || !model) return {};
  const out: Record<string, ProbeCommand> = {};
  for (const m of model.mounts) {
    try {
      const source = mountSource(serverAddress(vars, m.server), m.share);
      const opts = tcpOptions(managedOptions(m, credentialsPath(m.server, m.user)));
      out[probeName(m.path)] = { script: probeScript({ path: m.path, source, tcpOptions: opts, sizeMiB: pv.sizeMiB, tool: pv.tool, check, client: host }), timeoutS: probeTimeoutS(pv.sizeMiB) };
    } catch { /* plan() reports the mount's problem */ }
  }
  return out;
}

const task: Task = {
  name: 'smbdirect: throughput probe (RDMA vs TCP)',
  tags: ['smbdirect', 'probe'],
  inventoryVars: clusterVars,
  probes,
  plan({ vars, host, facts, check }) {
    const pv = probeVars(vars, host);
    if ('error' in pv) return { status: 'fail', msg: pv.error };
    const model = smbModel(vars, host);
    if (!model.mounts.length) return { status: 'skip', msg: 'no smb_mounts on this host: nothing to measure' };
    const rows = model.mounts.map((m) => {
      const v = probeVerdict({ host, path: m.path, server: m.server, share: m.share, sizeMiB: pv.sizeMiB, tool: pv.tool }, facts.probes[probeName(m.path)], probeTimeoutS(pv.sizeMiB));
      return { path: m.path, v };
    });
    const failed = rows.flatMap((r) => (r.v.ok ? [] : [`${r.path}: ${r.v.why}`]));
    const measures = rows.flatMap((r) => ('measure' in r.v ? [r.v.measure] : []));
    const checked = rows.flatMap((r) => ('checked' in r.v ? [`${r.path}: ${r.v.checked}`] : []));
    const figures = measures.map((p) => `${p.path}: RDMA write ${p.rdma.writeMBps} / read ${p.rdma.readMBps} MB/s, TCP write ${p.tcp.writeMBps} / read ${p.tcp.readMBps} MB/s, read ${p.ratio}x (${p.sizeMiB} MiB, ${p.tool})`);
    const msg = [...failed, ...figures, ...checked].join('\n');
    const report = measures.length ? probeTable(rows.map((r) => ({ path: r.path, ...('measure' in r.v ? { measure: r.v.measure } : { note: r.v.ok ? 'checked' : 'failed' }) }))) : undefined;
    const probe: ProbeMeasure[] | undefined = measures.length ? measures : undefined;
    if (failed.length) return { status: 'fail', msg, report, probe };
    return { status: 'ok', msg: check && !measures.length ? `check mode, nothing written or mounted:\n${msg}` : msg, report, probe };
  },
};
export default task;
