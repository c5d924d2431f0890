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
  script: `sec dmesg
if dmesg >/dev/null 2>&1; then echo readable; dmesg | grep -aE '${DMESG_PATTERN}' | tail -n 200; else echo unreadable; fi
sec dmesg.clock
echo "uptime $(cut -d ' ' -f 1 /proc/uptime)"
echo "btime $(awk '/^btime/ { print $2 }' /proc/stat)"
echo "now $(date +%s)"`,
  parse(s) {
    const [status, ...rest] = s.lines('dmesg');
    const readable = status === 'readable';
    const k = s.keyed('dmesg.clock');
    const uptime = Number.parseFloat(k.get('uptime') ?? '');
    return {
      readable,
      note: readable ? null : 'dmesg is not readable (not root, or kernel.dmesg_restrict=1)',
      lines: rest.map(line),
      uptime: Number.isFinite(uptime) ? uptime : null,
      bootTime: int(k.get('btime')),
      now: int(k.get('now')),
    };
  },
};

function line(text: string): DmesgLine {
  const m = /^\[\s*(\d+\.\d+)\]\s?(.*)$/.exec(text);
  return m ? { t: Number(m[1]), text: m[2]! } : { t: null, text };
}
