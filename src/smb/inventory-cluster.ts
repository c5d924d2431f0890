// What a client needs to know about the servers (address, shares), taken from the inventory
// before the run, since a play on one host cannot see another host's vars. The SMB tasks declare
// it as their Task.inventoryVars; the engine runs it once per run and knows nothing of SMB.
import type { HostSpec, Inventory, InventoryVars, Vars } from '../types.js';
import { CLUSTER_VAR } from './cluster.js';

export interface ClusterServer { address: string; shares: string[]; users: string[] }

/** `addressOf`: where SSH reaches a host (sshAddress), for a server named by an ssh_config alias. */
export function clusterVar(inv: Inventory, extraVars: Vars = {}, addressOf: (h: HostSpec) => string | undefined = () => undefined): { servers: Record<string, ClusterServer> } {
  const servers: Record<string, ClusterServer> = {};
  for (const h of inv.hosts.values()) {
    if (!h.groups.includes('smb_servers')) continue;
    const v = { ...h.vars, ...extraVars };
    const shares = Array.isArray(v.ksmbd_shares) ? v.ksmbd_shares : [];
    const users = Array.isArray(v.ksmbd_users) ? v.ksmbd_users : [];
    servers[h.name] = {
      address: String(v.smbdirect_server_address ?? v.ansible_host ?? addressOf(h) ?? h.name),
      shares: names(shares),
      users: names(users),
    };
  }
  return { servers };
}

function names(list: unknown[]): string[] {
  return list.map((x) => String((x as { name?: unknown })?.name ?? '')).filter(Boolean);
}

/** Task.inventoryVars of every SMB task: `smbdirect_cluster` (src/smb/cluster.ts reads it). */
export const clusterVars: InventoryVars = (inv, extraVars, addressOf) => ({ [CLUSTER_VAR]: clusterVar(inv, extraVars, addressOf) });
