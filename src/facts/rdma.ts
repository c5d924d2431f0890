// RDMA devices, one entry per device port: `rdma -j link show` (state, netdev) merged with sysfs
// (node_type and link_layer tell iWARP from InfiniBand from RoCE). `rdma` runs only when an RDMA
// device or ib_core is already there: opening its netlink socket would otherwise load ib_core.
import type { Fact } from './fact.js';
import { isRecord, jsonOr, num, str } from './fact.js';

/** iwarp: siw, Chelsio...; roce: rxe, mlx5 on Ethernet; ib: InfiniBand. */
export type RdmaNodeType = 'iwarp' | 'roce' | 'ib' | 'unknown';

export interface RdmaDevice {
  /** Device name, e.g. "siw0", "rxe0", "mlx5_0". */
  name: string;
  port: number;
  nodeType: RdmaNodeType;
  /** "Ethernet" or "InfiniBand" (sysfs ports/N/link_layer). */
  linkLayer: string | null;
  netdev: string | null;
  /** "ACTIVE", "DOWN", ... */
  state: string | null;
  /** "LINK_UP", "DISABLED", ... */
  physicalState: string | null;
}

/** An RDMA connection manager ID (`rdma resource show cm_id`): a listener or a connection. */
export interface RdmaCmId {
  /** The device it is bound to ("rxe0"), or null while unbound (a wildcard listener). */
  dev: string | null;
  /** "LISTEN", "CONNECT", "DISCONNECT", ... */
  state: string | null;
  /** The kernel or process name that holds it, e.g. "[cifs]" or "[ksmbd]" as rdma prints it. */
  comm: string | null;
}

export interface RdmaFacts {
  /** `rdma` ran and printed JSON. */
  tool: boolean;
  devices: RdmaDevice[];
  /** Every cm_id: a soft link cannot be deleted while one holds it (`rdma link delete` blocks). */
  cmIds: RdmaCmId[];
}

export const rdma: Fact<RdmaFacts> = {
  name: 'rdma',
  script: `sec rdma.links
if have rdma && { [ -d /sys/class/infiniband ] || [ -d /sys/module/ib_core ]; }; then t rdma -j link show; fi
sec rdma.cm_ids
if have rdma && [ -d /sys/class/infiniband ]; then t rdma -j resource show cm_id; fi
sec rdma.sysfs
for d in /sys/class/infiniband/*; do
  [ -d "$d" ] || continue
  for p in "$d"/ports/*; do
    [ -d "$p" ] || continue
    rl "$d/node_type"; nt=$RL; rl "$p/link_layer"; ll=$RL; rl "$p/state"; ps=$RL; rl "$p/gid_attrs/ndevs/0"
    printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "\${d##*/}" "\${p##*/}" "$nt" "$ll" "$ps" "$RL"
  done
done`,
  parse(s) {
    const devices = new Map<string, RdmaDevice>();
    const get = (name: string, port: number): RdmaDevice => {
      const key = `${name}/${port}`;
      const found = devices.get(key);
      if (found) return found;
      const d: RdmaDevice = { name, port, nodeType: 'unknown', linkLayer: null, netdev: null, state: null, physicalState: null };
      devices.set(key, d);
      return d;
    };
    for (const line of s.lines('rdma.sysfs')) {
      const [name = '', port = '', nodeType = '', linkLayer = '', state = '', ndev = ''] = line.split('\t');
      const d = get(name, Number(port));
      d.linkLayer = linkLayer || null;
      d.nodeType = classify(nodeType, linkLayer);
      d.state = /^\d+:\s*(\S+)/.exec(state)?.[1] ?? null;
      d.netdev = ndev || null;
    }
    const links = jsonOr(s.text('rdma.links'));
    for (const l of Array.isArray(links) ? links.filter(isRecord) : []) {
      // iproute2 >= 5.x prints "ifname": "siw0", "port": 1; older ones "ifname": "siw0/1".
      const [name = '', portInName] = (str(l.ifname) ?? '').split('/');
      const d = get(name, num(l.port) ?? Number(portInName ?? 1));
      d.state = str(l.state) ?? d.state;
      d.physicalState = str(l.physical_state) ?? null;
      d.netdev = str(l.netdev) ?? d.netdev;
    }
    const ids = jsonOr(s.text('rdma.cm_ids'));
    const cmIds = (Array.isArray(ids) ? ids.filter(isRecord) : []).map((c) => ({
      dev: (str(c.ifname) ?? '').split('/')[0] || null,
      state: str(c.state) ?? null,
      comm: str(c.comm) ?? null,
    }));
    return { tool: Array.isArray(links), devices: [...devices.values()].filter((d) => d.name !== ''), cmIds };
  },
};

/** sysfs node_type "4: RNIC" is iWARP; "1: CA" is RoCE on Ethernet, InfiniBand otherwise. */
function classify(nodeType: string, linkLayer: string): RdmaNodeType {
  const n = /^(\d+)/.exec(nodeType)?.[1];
  if (n === '4') return 'iwarp';
  if (n !== '1') return 'unknown';
  if (linkLayer === 'Ethernet') return 'roce';
  return linkLayer === 'InfiniBand' ? 'ib' : 'unknown';
}
