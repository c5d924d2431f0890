// One cifs mount's part of the kernel log, and what cifs said there about its channels.
// The part: after the mount's last "CIFS: Attempting to mount SOURCE" line, up to the next mount
// attempt (the probe's temporary TCP mounts of the same share are not this mount's).
// The channel lines, as fs/smb/client/sess.c prints them (cifs_try_adding_channels(); the format
// strings per kernel are in docs/multichannel-research.md):
//   "CIFS: VFS: successfully opened new channel on iface:ADDR"  6.1 (VFS level)
//   "CIFS: successfully opened new channel on iface:ADDR"       6.12, 7.3 (info level)
//   "CIFS: VFS: failed to open extra channel on iface:ADDR rc=N"
//   "CIFS: VFS: \\HOST no multichannel support"                 the server did not offer it
//   "CIFS: VFS: multichannel is not supported on this protocol version, use 3.0 or above"
//   "CIFS: VFS: too many channel open attempts (N channels left to open)"
//   "CIFS: VFS: server HOST does not advertise interfaces"      6.1 only
// and one "CIFS: VFS: RDMA transport established" per RDMA channel, the primary's included.
// All start with "CIFS", so the dmesg fact's filter (DMESG_PATTERN) keeps them.
import type { DmesgLine } from '../facts/index.js';
import { ESTABLISHED } from './unanswered.js';
import { PROBE_KMSG } from './probe-script.js';

export const ATTEMPT = /CIFS: Attempting to mount (\S+)/;
const PROBE_MARK = new RegExp(`${PROBE_KMSG} (\\S+)`);
const unc = (s: string): string => s.replace(/\\/g, '/').toLowerCase();

/** An attempt line of the probe's temporary TCP mount: the probe's mark for the same source comes
 * just before it (src/smb/probe-script.ts), with no other attempt between. */
function probeAttempt(lines: DmesgLine[], i: number): boolean {
  const src = unc(ATTEMPT.exec(lines[i]!.text)?.[1] ?? '');
  for (let j = i - 1; j >= Math.max(0, i - 5); j--) {
    const mark = PROBE_MARK.exec(lines[j]!.text);
    if (mark) return unc(mark[1]!) === src;
    if (ATTEMPT.test(lines[j]!.text)) return false;
  }
  return false;
}

export interface MountLog {
  /** The mount's own attempt line; null when the log no longer has it (then `lines` is the whole log). */
  attempt: DmesgLine | null;
  lines: DmesgLine[];
}

export function mountLog(all: DmesgLine[], source: string): MountLog {
  let start = -1;
  all.forEach((l, i) => { if (unc(ATTEMPT.exec(l.text)?.[1] ?? '') === unc(source) && !probeAttempt(all, i)) start = i; });
  if (start < 0) return { attempt: null, lines: all };
  const next = all.findIndex((l, i) => i > start && ATTEMPT.test(l.text));
  return { attempt: all[start]!, lines: all.slice(start + 1, next < 0 ? undefined : next) };
}

export interface ChannelLog {
  /** "RDMA transport (re-)established" lines: one per RDMA channel opened. */
  established: DmesgLine[];
  opened: Array<{ address: string; line: DmesgLine }>;
  failed: Array<{ address: string; rc: number; line: DmesgLine }>;
  noSupport: DmesgLine | null;
  dialect: DmesgLine | null;
  tooMany: DmesgLine | null;
  noInterfaces: DmesgLine | null;
  /** The last SMB Direct error line ("smbd_..." before 6.18, "smbdirect_..." on 7.x): why a connect failed. */
  rdmaError: DmesgLine | null;
}

/** The channel lines of a mount's log (see the top of this file). */
export function channelLog(lines: DmesgLine[]): ChannelLog {
  const first = (re: RegExp) => lines.find((l) => re.test(l.text)) ?? null;
  return {
    established: lines.filter((l) => ESTABLISHED.test(l.text)),
    opened: lines.flatMap((line) => {
      const m = /^CIFS: (?:VFS: )?successfully opened new channel on iface:(\S+)/.exec(line.text);
      return m ? [{ address: m[1]!, line }] : [];
    }),
    failed: lines.flatMap((line) => {
      const m = /failed to open extra channel on iface:(\S+) rc=(-?\d+)/.exec(line.text);
      return m ? [{ address: m[1]!, rc: Number(m[2]), line }] : [];
    }),
    noSupport: first(/ no multichannel support/),
    dialect: first(/multichannel is not supported on this protocol version/),
    tooMany: first(/too many channel open attempts/),
    noInterfaces: first(/does not advertise interfaces/),
    rdmaError: [...lines].reverse().find((l) => /\b(smbd|smbdirect)_\w+/.test(l.text)) ?? null,
  };
}
