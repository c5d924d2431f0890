// A cifs mount's channels (issue #15 item 1): how many, whether each runs over RDMA, and, where
// the kernel opened fewer than the mount asks for, why, in the kernel's own words.
// DebugData prints no transport per channel (docs/multichannel-research.md, Q3), so an extra
// channel counts as RDMA from two sources that agree: it sits on a server interface flagged rdma
// (cifs never mixes rdma and non-rdma interfaces in one session), and the mount's log has one
// "RDMA transport established" per channel and one "successfully opened new channel" per extra one.
import type { CifsMount } from '../facts/index.js';
import type { CifsServer, DebugData, ServerInterface } from './debugdata.js';
import { channelLog, type ChannelLog, type MountLog } from './mount-log.js';

export interface Verdict { ok: boolean; detail: string }

/**
 * The channels a mount asks for, from its option lists (/proc/mounts, smb_mounts' options):
 * the largest max_channels=N above 1, else 2 for `multichannel` alone (cifs's default, and 7.x
 * refuses multichannel with max_channels=1); null when it asks for one channel.
 */
export function wantedChannels(...optionLists: string[][]): number | null {
  const opts = optionLists.flat();
  const max = opts.map((o) => Number(/^max_channels=(\d+)$/.exec(o)?.[1] ?? 0));
  const most = Math.max(0, ...max);
  if (most > 1) return most;
  return opts.includes('multichannel') && most === 0 ? 2 : null;
}

const hostOf = (source: string): string => (source.replace(/\\/g, '/').split('/').filter(Boolean)[0] ?? '').replace(/^\[|\]$/g, '').toLowerCase();

/** The DebugData server block of the mount's server (its Hostname); of several, the connected one. */
export function serverBlock(d: DebugData, m: CifsMount): CifsServer | null {
  const same = d.servers.filter((s) => s.hostname !== null && hostOf(s.hostname) === hostOf(m.source));
  return same.find((s) => s.smbDirect?.connected) ?? same[0] ?? null;
}

/** "1 channel, rdma", "2 channels, primary rdma", "1 channel, tcp". */
export function channelsText(s: CifsServer): string {
  const transport = s.smbDirect?.connected ? 'rdma' : s.rdma || s.smbDirect ? 'rdma, not connected' : 'tcp';
  return `${s.channels} channel${s.channels > 1 ? 's' : ''}, ${s.channels > 1 ? 'primary ' : ''}${transport}`;
}

/** ksmbd's IPv6 entry of a NIC without an IPv6 address ("::", printed in full by %pI6 and %pIS). */
const unspecified = (address: string | null): boolean => address !== null && /^[0:]+$/.test(address);
const inUse = (i: ServerInterface): boolean => i.connected || (i.channels ?? 0) > 0;
const addresses = (ifaces: ServerInterface[]): string => ifaces.map((i) => i.address ?? '?').join(', ') || 'none';

/** What keeps every channel from being RDMA, when the count is reached (empty: all RDMA). */
function notRdma(s: CifsServer, log: ChannelLog | null): string[] {
  const extra = s.channels - 1;
  const used = s.interfaces.filter((i) => i.rdma && inUse(i));
  const tcp = s.interfaces.filter((i) => !i.rdma && inUse(i));
  const down = s.extra.filter((c) => c.disabled || c.disconnected).map((c) => `channel ${c.number} ${c.disabled ? 'DISABLED' : 'DISCONNECTED'}`);
  return [
    ...(s.smbDirect?.connected ? [] : ['the primary channel has no connected SMBDirect transport']),
    ...(tcp.length ? [`channels on non-RDMA server interfaces ${addresses(tcp)}`] : []),
    // Assert "at least", not equality: 6.1 may not count the primary on its interface (research, Q3).
    ...(used.length < extra ? [`${used.length} RDMA server interface(s) in use for ${extra} extra channel(s)`] : []),
    ...down,
    ...(log && log.established.length < s.channels ? [`${log.established.length} "RDMA transport established" line(s) since the mount for ${s.channels} channels`] : []),
    ...(log && log.opened.length < extra ? [`${log.opened.length} "successfully opened new channel" line(s) for ${extra} extra channel(s)`] : []),
  ];
}

/** Why the kernel opened fewer channels: its first reason line, in the order of the research's "Verify" step 4. */
function whyFewer(s: CifsServer, log: ChannelLog | null): string {
  const quoted = (l: { text: string }) => `"${l.text}"`;
  const rdma = s.interfaces.filter((i) => i.rdma && !unspecified(i.address));
  const other = s.interfaces.filter((i) => !i.rdma && !unspecified(i.address));
  const onlyOne = rdma.length <= 1
    ? `the server advertises ${rdma.length} RDMA interface(s) (${addresses(rdma)}${other.length ? `; not RDMA: ${addresses(other)}` : ''}): a second RDMA channel needs a second server NIC with its own RDMA link (siw/rxe), created before ksmbd starts`
    : null;
  if (log?.noSupport) return `the server does not offer multichannel (ksmbd: server multi channel support = yes): ${quoted(log.noSupport)}`;
  if (log?.dialect) return `the dialect is below SMB 3.0: ${quoted(log.dialect)}`;
  const failed = log?.failed[0];
  if (failed) {
    const v6 = unspecified(failed.address) ? ": that is ksmbd's IPv6 entry of a NIC without an IPv6 address; cap max_channels at the number of RDMA NICs or disable IPv6 on them" : '';
    const rdma = log.rdmaError ? `; last SMB Direct error: ${quoted(log.rdmaError)}` : '';
    return `the extra channel to ${failed.address} failed (rc=${failed.rc}): ${quoted(failed.line)}${rdma}${v6}`;
  }
  if (log?.tooMany) return `${onlyOne ?? `the client found no usable interface among the server's ${rdma.length} RDMA ones (${addresses(rdma)}; each in use and not RSS-capable?)`}: ${quoted(log.tooMany)}`;
  if (log?.noInterfaces) return `the server advertises no interfaces: ${quoted(log.noInterfaces)}`;
  if (s.advertised === 0) return 'the server advertises no interfaces (Server interfaces: 0)';
  const where = log ? 'no reason in the kernel log' : 'dmesg is not readable, so no reason from the kernel log';
  return `${where}${onlyOne ? `; ${onlyOne}` : ''}; echo 1 > /proc/fs/cifs/cifsFYI and remount to see the channel choice`;
}

/** PASS: at least `wanted` channels, every one RDMA. FAIL: how many, and the kernel's reason. */
export function multichannelVerdict(s: CifsServer | null, log: MountLog | null, wanted: number, source: string): Verdict {
  if (!s) return { ok: false, detail: `no server block for ${hostOf(source)} in /proc/fs/cifs/DebugData` };
  const lines = log ? channelLog(log.lines) : null;
  if (s.channels < wanted) return { ok: false, detail: `${s.channels} of ${wanted} channels: ${whyFewer(s, lines)}` };
  const problems = notRdma(s, lines);
  if (problems.length) return { ok: false, detail: `${s.channels} channels, not all shown RDMA: ${problems.join('; ')}` };
  // Without the log the primary's interface cannot be told from the extra ones: name them all.
  const opened = lines ? [...new Set(lines.opened.map((o) => o.address))] : [];
  // 6.1 does not count the primary on its interface, so with one RDMA NIC on the server it opens
  // the extra channel to the primary's own address (seen on the VM lab): RDMA, but no second path.
  const shared = opened.length > 0 && opened.every((a) => a.toLowerCase() === hostOf(source)) ? ", the primary's own server NIC: no second path" : '';
  const where = lines
    ? `extra: ${s.channels - 1} on ${opened.join(', ')}${shared}`
    : `RDMA interfaces in use: ${addresses(s.interfaces.filter((i) => i.rdma && inUse(i)))}; dmesg not readable: judged from DebugData alone`;
  const note = !log || log.attempt ? '' : ' (the mount\'s own "Attempting to mount" line is no longer in the log)';
  return { ok: true, detail: `${s.channels} channels, all RDMA (${where})${note}` };
}
