// Which port SMB Direct uses, by kernel release and RDMA device type (domain notes §3, §8). One
// table and one function: the firewall task, verify's listening checks and the messages that name
// a port all ask here instead of assuming 5445 or 445.
//   old kernels: ksmbd has ONE RDMA listener, on 5445 if any iWARP device existed when it started,
//                else on 445; the client tries 5445, then 445.
//   new kernels: ksmbd listens for iWARP on 5445 and for InfiniBand/RoCE on 445, each listener
//                restricted to its node type; the client tries only its device type's port.
// ASSUMPTION: the fixes are stable-tagged (2026) and no first release is recorded; kernels from
// 6.18 on (so all of 7.x) count as new, older ones as old. A stable update of an older series may
// already behave as new: both answers open the same firewall ports (the iWARP port is TCP 5445;
// RoCE runs over UDP 4791 whatever its RDMA-CM port).
import type { KernelFacts, RdmaNodeType } from '../facts/index.js';
import { kernelAtLeast } from '../facts/index.js';

export const PER_TYPE_LISTENERS_FROM = { major: 6, minor: 18 } as const;

export type SmbDirectType = Exclude<RdmaNodeType, 'unknown'>;
export interface RdmaPort { port: 445 | 5445; types: SmbDirectType[] }
export interface FirewallPort { port: number; proto: 'tcp' | 'udp'; why: string }

export interface RdmaPorts {
  /** The kernel has one listener per node type (new) or one for all (old). */
  perType: boolean;
  /** ksmbd's RDMA-CM listeners for these device types. */
  listeners: RdmaPort[];
  /** The port a client of each type connects to first (old kernels then fall back to 445). */
  client: Partial<Record<SmbDirectType, 445 | 5445>>;
  /** What SMB Direct needs open beyond TCP 445 (SMB): iWARP TCP 5445, RoCEv2 UDP 4791. */
  firewall: FirewallPort[];
  /** One clause: how this kernel picks the port. */
  rule: string;
}

export const perTypeListeners = (k: KernelFacts): boolean => kernelAtLeast(k, PER_TYPE_LISTENERS_FROM.major, PER_TYPE_LISTENERS_FROM.minor);

/** The RDMA ports of a ksmbd server or cifs client on kernel `k` with devices of these types. */
export function rdmaPorts(k: KernelFacts, types: readonly RdmaNodeType[]): RdmaPorts {
  const have = [...new Set(types.filter((t): t is SmbDirectType => t !== 'unknown'))].sort();
  const iwarp = have.includes('iwarp');
  const ibroce = have.filter((t) => t !== 'iwarp');
  const perType = perTypeListeners(k);
  const listeners: RdmaPort[] = perType
    ? [...(iwarp ? [{ port: 5445 as const, types: ['iwarp' as const] }] : []), ...(ibroce.length ? [{ port: 445 as const, types: ibroce }] : [])]
    : have.length ? [{ port: iwarp ? 5445 : 445, types: have }] : [];
  const client = Object.fromEntries(have.map((t) => [t, t === 'iwarp' || !perType ? 5445 : 445]));
  const firewall: FirewallPort[] = [
    ...(iwarp ? [{ port: 5445, proto: 'tcp' as const, why: 'SMB Direct over iWARP' }] : []),
    ...(have.includes('roce') ? [{ port: 4791, proto: 'udp' as const, why: 'RoCEv2' }] : []),
  ];
  const rule = perType
    ? `kernel ${k.release} listens for iWARP on 5445 and for InfiniBand/RoCE on 445`
    : `kernel ${k.release} has one RDMA listener, on 5445 when an iWARP device existed at ksmbd's start, else on 445`;
  return { perType, listeners, client, firewall, rule };
}

/** The node types of an RDMA mode: siw iWARP, rxe RoCE, hardware whatever devices there are. */
export function modeTypes(mode: 'siw' | 'rxe' | 'hardware', devices: ReadonlyArray<{ nodeType: RdmaNodeType }>): RdmaNodeType[] {
  if (mode === 'siw') return ['iwarp'];
  if (mode === 'rxe') return ['roce'];
  return devices.map((d) => d.nodeType);
}

/** Where a client connects, when its kernel and device type are not known. */
export const ANY_PORTS_TEXT = 'does the firewall allow TCP 5445 (iWARP/siw) or UDP 4791 (RoCE/rxe)?';

/** For a client's failed mount: where it connects and what the firewall must let through. */
export function clientPortsText(k: KernelFacts, types: readonly RdmaNodeType[]): string {
  const p = rdmaPorts(k, types);
  const to = Object.entries(p.client).map(([t, port]) => `${t} to port ${port}${p.perType ? '' : ', then 445'}`);
  const fw = p.firewall.map((f) => (f.proto === 'tcp' ? `TCP ${f.port} on the server` : `UDP ${f.port} on both sides`));
  if (!to.length) return ANY_PORTS_TEXT;
  return `kernel ${k.release} connects over ${to.join(', ')}: does the firewall allow ${fw.join(' and ') || 'it'}?`;
}
