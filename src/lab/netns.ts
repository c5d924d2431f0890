// The lab network: one bridge in the root namespace, one network namespace per host joined
// to it by a veth pair. No default route in the namespaces, no NAT, forwarding untouched:
// the addresses exist only between our namespaces and the bridge.

import { promises as fs } from 'node:fs';
import { sh, shTry } from './util.js';

/** The default lab's subnet; labs with other state dirs pick another free /16. */
export const DEFAULT_SUBNET = '10.77';

/** Address of host number `n` (1-based, servers first): 10.77.0.11, 10.77.0.12, ... */
export function hostAddress(subnet: string, n: number): string {
  const v = 10 + n;
  return `${subnet}.${v >> 8}.${v & 255}`;
}

type Net = { base: number; len: number };

function parseCidr(cidr: string): Net | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(cidr.trim());
  if (!m) return undefined;
  const ip = ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
  const len = m[5] === undefined ? 32 : +m[5];
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { base: (ip & mask) >>> 0, len };
}

function overlaps(a: Net, b: Net): boolean {
  const len = Math.min(a.len, b.len);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/** IPv4 networks already routed or assigned on this machine (ignoring the default route). */
async function usedNetworks(): Promise<Net[]> {
  const out: Net[] = [];
  const routes = await sh`ip -4 -o route show table all`;
  for (const line of routes.stdout.split('\n')) {
    const first = line.trim().split(/\s+/)[0];
    const dest = first === 'local' || first === 'broadcast' ? line.trim().split(/\s+/)[1] : first;
    if (!dest || dest === 'default') continue;
    const n = parseCidr(dest);
    // 127/8 and the host routes of loopback are irrelevant to a 10.x lab.
    if (n && n.len > 0) out.push(n);
  }
  return out;
}

/**
 * The default lab always uses 10.77.0.0/16 (documented address plan). Any other lab takes
 * the first free /16 from 10.78 up, starting at one derived from its prefix, so a test lab
 * never shadows the user's lab routes.
 */
export async function chooseSubnet(isDefault: boolean, prefix: string): Promise<string> {
  const used = await usedNetworks();
  const free = (s: string): boolean => !used.some((u) => overlaps(u, parseCidr(`${s}.0.0/16`)!));
  if (isDefault) {
    if (!free(DEFAULT_SUBNET)) {
      throw new Error(`${DEFAULT_SUBNET}.0.0/16 is already in use on this machine (ip -4 route); cannot start the lab`);
    }
    return DEFAULT_SUBNET;
  }
  const start = parseInt(prefix.slice(-4), 16) % 100;
  for (let i = 0; i < 100; i++) {
    const s = `10.${78 + ((start + i) % 100)}`;
    if (free(s)) return s;
  }
  throw new Error('no free 10.x.0.0/16 subnet (10.78-10.177) for the lab');
}

export async function createBridge(bridge: string, cidr: string): Promise<void> {
  await sh`ip link add ${bridge} type bridge`;
  await sh`ip addr add ${cidr} dev ${bridge}`;
  await sh`ip link set ${bridge} up`;
}

/**
 * Creates every host's netns and veth pair (peer created directly inside the netns as eth0,
 * root end enslaved to the bridge) in one `ip -batch`: ~5 ms per host instead of ~80 ms
 * for separate `ip` runs. Addresses are set later from inside each namespace (hosts.ts),
 * which avoids `ip -n`, whose per-call mount-namespace switch is the slow part.
 */
export async function createHostNets(bridge: string, hosts: Array<{ netns: string; veth: string }>): Promise<void> {
  const lines = hosts.flatMap((h) => [
    `netns add ${h.netns}`,
    `link add ${h.veth} type veth peer name eth0 netns ${h.netns}`,
    `link set ${h.veth} master ${bridge} up`,
  ]);
  await sh({ input: `${lines.join('\n')}\n` })`ip -batch -`;
}

/** Network namespaces whose name starts with `prefix-` (from /run/netns). */
export async function listNetns(prefix: string): Promise<string[]> {
  const names = await fs.readdir('/run/netns').catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`${prefix}-`));
}

/** Root-namespace links whose name starts with the prefix (veths and the bridge). */
export async function listLinks(prefix: string): Promise<string[]> {
  const names = await fs.readdir('/sys/class/net').catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(prefix));
}

/**
 * Deletes the given netns and every link with the lab's prefix. Errors are ignored (things
 * may already be gone; veths vanish asynchronously with their netns); the caller re-lists.
 */
export async function deleteNetwork(prefix: string, netns: string[], bridge: string): Promise<void> {
  const all = new Set([...netns, ...(await listNetns(prefix))]);
  // The veths first (ports), then the namespaces, then the bridge; one `ip` for all.
  const links = (await listLinks(prefix)).filter((l) => l !== bridge);
  const lines = [
    ...links.map((l) => `link del ${l}`),
    ...[...all].map((n) => `netns del ${n}`),
    `link del ${bridge}`,
  ];
  await shTry({ input: `${lines.join('\n')}\n` })`ip -force -batch -`;
}
