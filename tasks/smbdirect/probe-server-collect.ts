/**
 * Ends the server's side of the throughput probe: stops the sampler smbdirect/probe-server-start
 * started, reads what it recorded and removes its directory (all in this task's probe, during fact
 * gathering: 0 changes), and reports per client probe (client, mount) the server's CPU seconds over
 * the RDMA and the TCP transfers (host-wide busy time, and the ksmbd threads' own time), matched to
 * the client's figures by the probe's ID in the report. Clients probed at the same time share the
 * figure: the message says how many ("server CPU is host-wide: N clients probed at once";
 * --forks 1 measures one at a time). Fails only when the sampler's directory could not be removed.
 * Vars: none of its own (it runs after the client play of playbooks/probe.yml).
 * Example: "c1:/mnt/data: server CPU RDMA 0.41 s / TCP 0.87 s (ksmbd threads 0.12 / 0.35 s)".
 */
import { clusterVars } from '../../src/smb/inventory-cluster.js';
import { samplerCollectScript } from '../../src/smb/probe-sampler.js';
import { overlapNote, parseSampler, serverMeasures, serverProbeTable } from '../../src/smb/probe-server.js';
import type { ProbeCommand, ServerPhaseCpu, ServerProbeMeasure, Task } from '../../src/types.js';

export const COLLECT_PROBE = 'probe-sampler:collect';

const s = (c: ServerPhaseCpu | undefined, k: keyof ServerPhaseCpu): string => (c?.[k] === undefined ? '-' : c[k]!.toFixed(2));
const line = (m: ServerProbeMeasure): string =>
  `${m.client ?? '?'}:${m.path ?? m.id}: server CPU RDMA ${s(m.rdma, 'cpuSeconds')} s / TCP ${s(m.tcp, 'cpuSeconds')} s (ksmbd threads ${s(m.rdma, 'ksmbdSeconds')} / ${s(m.tcp, 'ksmbdSeconds')} s)`;

const task: Task = {
  name: 'smbdirect: probe, server CPU sampler (collect)',
  tags: ['smbdirect', 'probe'],
  inventoryVars: clusterVars,
  probes: (_vars, _host, check = false): Record<string, ProbeCommand> => (check ? {} : { [COLLECT_PROBE]: { script: samplerCollectScript(), timeoutS: 30 } }),
  plan({ host, facts, check }) {
    if (check) return { status: 'ok', msg: 'check mode: no sampler was started, nothing to collect' };
    const r = facts.probes[COLLECT_PROBE];
    if (!r) return { status: 'ok', msg: 'the collect probe did not run (no result in the facts): no server CPU', warnings: ['the collect probe did not run: no server CPU'] };
    const o = parseSampler(r.stdout);
    if (o.cleanup && o.cleanup !== 'ok') return { status: 'fail', msg: `LEFT BEHIND (remove by hand): ${o.cleanup}` };
    if (o.none) return { status: 'ok', msg: 'no sampler was running (it was not started, or it ended at its time limit without a probe marker): no server CPU' };
    const measures = serverMeasures(host, o);
    if (!measures.length) return { status: 'ok', msg: `the sampler saw no probe marker in the shares${o.end === 'idle' ? ' and ended at its time limit' : ''}: no server CPU` };
    const note = overlapNote(measures);
    const msg = [...measures.map(line), ...(note ? [note] : [])].join('\n');
    return { status: 'ok', msg, report: serverProbeTable(measures), serverProbe: measures, ...(note ? { warnings: [note] } : {}) };
  },
};
export default task;
