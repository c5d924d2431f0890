// Listening TCP and bound UDP ports, from /proc/net/{tcp,udp}[6] (captures taken with `ss -Hltnu`
// are still read). We care about 445 (SMB), 5445 (SMB Direct over iWARP) and 4791 (RoCEv2).
import type { Fact } from './fact.js';
import { ipv6Text } from './fact.js';

export interface Listener {
  proto: 'tcp' | 'udp';
  /** "0.0.0.0", "[::]", "10.0.0.1%eth0", "*"; hex for the /proc fallback's IPv6. */
  address: string;
  port: number;
}

export interface PortsFacts {
  tool: 'ss' | 'proc' | null;
  listeners: Listener[];
  /** Sorted, unique. */
  tcp: number[];
  udp: number[];
}

export const ports: Fact<PortsFacts> = {
  name: 'ports',
  // /proc/net read by one awk (ss costs 2-3 times as much to start): TCP in LISTEN (0A), UDP
  // unconnected (07). Files missing (no IPv6) are left out: awk stops at a file it cannot open.
  script: `sec ports
echo 'tool proc'
fs=; for f in tcp tcp6 udp udp6; do [ -r /proc/net/$f ] && fs="$fs /proc/net/$f"; done
[ -z "$fs" ] || awk '$4 ~ /^0A$/ && FILENAME ~ /tcp/ || $4 ~ /^07$/ && FILENAME ~ /udp/ { f = FILENAME; sub(/.*[/]/, "", f); print f, $0 }' $fs`,
  parse(s) {
    const [head = '', ...rest] = s.lines('ports');
    const tool = head === 'tool ss' ? 'ss' : head === 'tool proc' ? 'proc' : null;
    const listeners = rest.map(tool === 'proc' ? fromProc : fromSs).filter((l): l is Listener => l !== null);
    const portsOf = (p: string): number[] =>
      [...new Set(listeners.filter((l) => l.proto === p).map((l) => l.port))].sort((a, b) => a - b);
    return { tool, listeners, tcp: portsOf('tcp'), udp: portsOf('udp') };
  },
};

/** "tcp   LISTEN 0  128  0.0.0.0:445  0.0.0.0:*" (the header line, if any, does not match). */
function fromSs(line: string): Listener | null {
  const m = /^(tcp|udp)\s+\S+\s+\d+\s+\d+\s+(\S+):(\d+)\s/.exec(line);
  return m ? { proto: m[1] as 'tcp' | 'udp', address: m[2]!, port: Number(m[3]) } : null;
}

/** "tcp    0: 00000000:01BD 00000000:0000 0A ...": TCP in LISTEN (0A), UDP unconnected (07). */
function fromProc(line: string): Listener | null {
  const m = /^(tcp|udp)6?\s+\d+:\s+([0-9A-F]+):([0-9A-F]{4})\s+\S+\s+([0-9A-F]{2})\s/i.exec(line);
  if (!m || m[4] !== (m[1] === 'tcp' ? '0A' : '07')) return null;
  return { proto: m[1] as 'tcp' | 'udp', address: procAddress(m[2]!), port: Number.parseInt(m[3]!, 16) };
}

/**
 * /proc/net/tcp[6] writes an address as 32-bit words in host byte order (little-endian here):
 * IPv4 as "0.0.0.0", IPv6 as ss prints it, "[::]" or "[fd00::2]".
 */
function procAddress(hex: string): string {
  const bytes = (word: string): number[] => [6, 4, 2, 0].map((i) => Number.parseInt(word.slice(i, i + 2), 16));
  if (hex.length === 8) return bytes(hex).join('.');
  if (hex.length !== 32) return hex;
  const b = [0, 8, 16, 24].flatMap((i) => bytes(hex.slice(i, i + 8)));
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  return `[${ipv6Text(words)}]`;
}
