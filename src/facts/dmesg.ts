// Kernel log lines about SMB, ksmbd and RDMA (the last 200), plus the clock needed to judge them:
// uptime, boot time and now. dmesg may be unreadable without root (kernel.dmesg_restrict).
import type { Fact } from './fact.js';
import { int } from './fact.js';

export const DMESG_PATTERN = 'CIFS|ksmbd|smbd_|smbdirect|rdma|siw|rxe|Oops|BUG:';

export interface DmesgLine {
  /** Seconds since boot from the "[  123.456789]" prefix; null when the line has none. */
  t: number | null;
  text: string;
}

export interface DmesgFacts {
  readable: boolean;
  /** Why nothing could be read, for the user. */
  note: string | null;
  lines: DmesgLine[];
  /** Seconds since boot (/proc/uptime). */
  uptime: number | null;
  /** Boot time, seconds since the epoch (btime in /proc/stat). */
  bootTime: number | null;
  /** The host's clock when the facts were gathered, seconds since the epoch. */
  now: number | null;
}

export const dmesg: Fact<DmesgFacts> = {
  name: 'dmesg',
  // One dmesg, read once: awk keeps the last 200 matching lines, and dmesg's own complaint as the
  // first line ("dmesg: read kernel buffer failed: ...") means unreadable. The clock by builtins:
  // now is boot time plus uptime (the parser adds them).
  script: `sec dmesg
if have dmesg; then
  dmesg 2>&1 | awk 'NR < 2 && /^dmesg: / { u = 1; exit } /${DMESG_PATTERN}/ { l[n++] = $0; delete l[n - 201] }
    END { if (u) { print "unreadable"; exit } print "readable"; for (i = n - 200; i < n; i++) if (i in l) print l[i] }'
else echo unreadable; fi
sec dmesg.clock
rl /proc/uptime && echo "uptime \${RL%% *}"
bt`,
  parse(s) {
    const [status, ...rest] = s.lines('dmesg');
    const readable = status === 'readable';
    const k = s.keyed('dmesg.clock');
    const uptime = Number.parseFloat(k.get('uptime') ?? '');
    const bootTime = int(k.get('btime'));
    return {
      readable,
      note: readable ? null : 'dmesg is not readable (not root, or kernel.dmesg_restrict=1)',
      lines: rest.map(line),
      uptime: Number.isFinite(uptime) ? uptime : null,
      bootTime,
      // Older captures printed `date +%s`; boot time plus uptime is the same clock.
      now: int(k.get('now')) ?? (bootTime !== null && Number.isFinite(uptime) ? bootTime + Math.floor(uptime) : null),
    };
  },
};

function line(text: string): DmesgLine {
  const m = /^\[\s*(\d+\.\d+)\]\s?(.*)$/.exec(text);
  return m ? { t: Number(m[1]), text: m[2]! } : { t: null, text };
}
