/**
 * Ensures the active host firewall lets SMB Direct in. Servers: TCP 445 (SMB), TCP 5445 when iWARP
 * (siw) is used, UDP 4791 for RoCEv2 (rxe); hardware mode: by the RDMA devices' node types; the
 * kernel's port rules in src/smb/rdma-ports.ts (rdmaPorts). Clients
 * with RoCE need UDP 4791 too (RoCEv2 packets go to port 4791 both ways; conntrack does not see
 * them as replies); siw clients need nothing (their TCP connections are outgoing).
 * firewalld: `firewall-cmd --permanent --add-port=...` and `--reload`; ufw: `ufw allow ...`; only
 * for ports not already open. nftables/iptables without a frontend: a warning with the exact
 * ports (raw rulesets are not edited). No firewall: nothing to do.
 * Vars: smbdirect_role (play), smbdirect_rdma_mode. Example: siw server, firewalld -> 445/tcp 5445/tcp.
 */
import { systemOf, type SystemFacts } from '../../src/facts/index.js';
import { cmd } from '../../src/quote.js';
import type { RdmaMode } from '../../src/smb/model.js';
import { modeTypes, rdmaPorts, type FirewallPort } from '../../src/smb/rdma-ports.js';
import { rdmaModeOf, roleOf, type Role } from '../../src/smb/support.js';
import type { Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

export type Port = FirewallPort;

/** Servers: TCP 445 and what src/smb/rdma-ports.ts says their kernel and devices need; clients: only RoCEv2's UDP 4791. */
export function wantedPorts(sys: SystemFacts, role: Role, mode: RdmaMode): Port[] {
  const rdma = rdmaPorts(sys.kernel, modeTypes(mode, sys.rdma.devices)).firewall;
  return role === 'server' ? [{ port: 445, proto: 'tcp', why: 'SMB' }, ...rdma] : rdma.filter((p) => p.proto === 'udp');
}

const spec = (p: Port): string => `${p.port}/${p.proto}`;

/** "445/tcp", "5000-6000/tcp" (firewalld) or "5000:6000/tcp" (ufw), "445" (ufw: both protocols). */
function covers(entry: string, p: Port): boolean {
  const m = /^(\d+)(?:[-:](\d+))?(?:\/(tcp|udp))?$/.exec(entry);
  if (!m) return false;
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  return lo <= p.port && p.port <= hi && (m[3] === undefined || m[3] === p.proto);
}

/** firewalld's samba service and ufw's Samba profile open 445/tcp. */
function isOpen(sys: SystemFacts, p: Port): boolean {
  const fw = sys.firewall;
  if (fw.active === 'firewalld' && fw.firewalld) {
    return fw.firewalld.ports.some((e) => covers(e, p)) || (spec(p) === '445/tcp' && fw.firewalld.services.includes('samba'));
  }
  return fw.ufwRules.some((rule) => {
    const m = /^(.+?)(?: \(v6\))?\s+ALLOW(?: IN)?\s/.exec(rule);
    return m !== null && (covers(m[1]!, p) || (spec(p) === '445/tcp' && m[1] === 'Samba'));
  });
}

const task: Task = {
  name: 'smbdirect: firewall',
  tags: ['smbdirect', 'firewall'],
  inventoryVars: clusterVars,
  plan({ vars, facts }) {
    const sys = systemOf(facts);
    const [role, mode] = [roleOf(vars), rdmaModeOf(vars)];
    const fw = sys.firewall;
    const want = wantedPorts(sys, role, mode);
    const list = want.map((p) => `${p.proto.toUpperCase()} ${p.port} (${p.why})`).join(', ');
    if (!want.length) return { status: 'ok', msg: `a ${role} with smbdirect_rdma_mode ${mode} needs no open port` };
    if (fw.active === 'none') return { status: 'ok', msg: `no active firewall (${list} reachable)` };
    if (fw.active === 'unknown') return { status: 'ok', msg: 'firewall state unknown', warnings: [`could not tell which firewall is active (not root?): make sure ${list} are open`] };
    if (fw.active === 'nftables' || fw.active === 'iptables') {
      const rules = fw.active === 'nftables' ? `${fw.nftRules} nftables rules${fw.nftPolicyDrop ? ', a chain with policy drop' : ''}` : `${fw.iptablesRules} iptables rules`;
      return { status: 'ok', msg: `${fw.active} is active without firewalld or ufw`, warnings: [`${rules} and no firewalld or ufw to manage them: open ${list} yourself`] };
    }
    const closed = want.filter((p) => !isOpen(sys, p));
    if (!closed.length) return { status: 'ok', msg: `${fw.active}: ${want.map(spec).join(', ')} already open` };
    const msg = `${fw.active}: open ${closed.map(spec).join(', ')}`;
    if (fw.active === 'firewalld') {
      const zone = fw.firewalld?.zone ? [`--zone=${fw.firewalld.zone}`] : [];
      const add = cmd('firewall-cmd', '--permanent', ...zone, ...closed.map((p) => `--add-port=${spec(p)}`));
      return { status: 'change', msg, changes: [{ kind: 'command', desc: msg, cmd: `${add} && ${cmd('firewall-cmd', '--reload')}` }] };
    }
    const allow = closed.map((p) => cmd('ufw', 'allow', spec(p))).join(' && ');
    return { status: 'change', msg, changes: [{ kind: 'command', desc: msg, cmd: allow }] };
  },
};
export default task;
