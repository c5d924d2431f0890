// Network interfaces and their addresses (`ip -j addr`), and the default routes (`ip -j route`).
import type { Facts } from '../types.js';
import type { Fact } from './fact.js';
import { ipv6Text, isRecord, jsonOr, num, str } from './fact.js';

export interface NetAddr {
  family: 'inet' | 'inet6';
  address: string;
  prefix: number;
}

export interface Netdev {
  name: string;
  /** Administratively up (the UP flag). */
  up: boolean;
  /** Carrier present (LOWER_UP). */
  lowerUp: boolean;
  /** "UP", "DOWN", "UNKNOWN" (loopback and some virtual devices). */
  operstate: string | null;
  mac: string | null;
  mtu: number | null;
  addrs: NetAddr[];
}

export interface Route {
  dev: string;
  gateway: string | null;
}

export interface NetFacts {
  netdevs: Netdev[];
  defaultRoute4: Route | null;
  /** Looked up only when there is no IPv4 default route (null otherwise): it is the fallback. */
  defaultRoute6: Route | null;
}

export const net: Fact<NetFacts> = {
  name: 'net',
  // One ip for addresses and the IPv4 default route (a batch prints one JSON line per command),
  // and the IPv6 default route only when there is no IPv4 one: it is only the fallback.
  script: `o=$(ip -j -force -batch - <<EOF_IP
addr show
route show default
EOF_IP
)
case $o in *"$NL"*) ;; *) o="$(ip -j addr show)$NL$(ip -j -4 route show default)";; esac
sec net.addr; printf '%s\\n' "\${o%%"$NL"*}"
o=\${o#*"$NL"}
sec net.route4; printf '%s\\n' "$o"
sec net.route6
# From /proc/net/ipv6_route by the shell: default (::/0) routes not on lo, "GATEWAY DEV" in hex.
case $o in *'"dev"'*) ;; *)
  while read -r d dl _ _ g _ _ _ _ dev; do
    case $d$dl in 0000000000000000000000000000000000) [ "$dev" = lo ] || echo "$g $dev";; esac
  done < /proc/net/ipv6_route;;
esac`,
  parse(s) {
    return {
      netdevs: list(s.text('net.addr')).map(netdev),
      defaultRoute4: route(s.text('net.route4')),
      defaultRoute6: route6(s.text('net.route6')),
    };
  },
};

function list(text: string): Record<string, unknown>[] {
  const v = jsonOr(text);
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

function netdev(j: Record<string, unknown>): Netdev {
  const flags = Array.isArray(j.flags) ? j.flags : [];
  const addrs = (Array.isArray(j.addr_info) ? j.addr_info.filter(isRecord) : []).flatMap((a): NetAddr[] => {
    const family = str(a.family);
    const address = str(a.local);
    if ((family !== 'inet' && family !== 'inet6') || address === undefined) return [];
    return [{ family, address, prefix: num(a.prefixlen) ?? (family === 'inet' ? 32 : 128) }];
  });
  return {
    name: str(j.ifname) ?? '',
    up: flags.includes('UP'),
    lowerUp: flags.includes('LOWER_UP'),
    operstate: str(j.operstate) ?? null,
    mac: str(j.address) ?? null,
    mtu: num(j.mtu) ?? null,
    addrs,
  };
}

function route(text: string): Route | null {
  const r = list(text).find((x) => str(x.dev) !== undefined);
  return r ? { dev: str(r.dev)!, gateway: str(r.gateway) ?? null } : null;
}

/** "GATEWAY DEV" lines from /proc/net/ipv6_route (older captures: `ip -j -6 route` JSON). */
function route6(text: string): Route | null {
  if (text.startsWith('[')) return route(text);
  const m = /^([0-9a-f]{32}) (\S+)$/m.exec(text);
  if (!m) return null;
  const words = Array.from({ length: 8 }, (_, i) => Number.parseInt(m[1]!.slice(4 * i, 4 * i + 4), 16));
  return { dev: m[2]!, gateway: words.every((w) => w === 0) ? null : ipv6Text(words) };
}

/** The interface that carries ADDR ("10.0.0.5" or "10.0.0.5/24"), if any. */
export function netdevForAddress(facts: Facts, addr: string): string | undefined {
  const want = addr.replace(/\/\d+$/, '').toLowerCase();
  const n = (facts.system as { net?: NetFacts }).net;
  return n?.netdevs.find((d) => d.addrs.some((a) => a.address.toLowerCase() === want))?.name;
}
