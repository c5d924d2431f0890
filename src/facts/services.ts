// ksmbd.service and our smbdirect-rdma-*.service units (enabled? active?), whether systemd runs
// as PID 1, and whether ksmbd is running per /proc: ksmbd.mountd processes and ksmbd kernel
// threads ("ksmbd-eth0", "ksmbd:r5445"), with their start times.
import type { Fact } from './fact.js';
import { int } from './fact.js';

export interface UnitState {
  name: string;
  /** `systemctl is-enabled`: "enabled", "disabled", "static", "masked", ... null when unknown. */
  enabled: string | null;
  /** `systemctl is-active`: "active", "inactive", "failed", ... null without a running systemd. */
  active: string | null;
}

export interface KsmbdProcess {
  pid: number;
  comm: string;
  /** Start time, seconds since the epoch (null when /proc/stat could not be read). */
  startedAt: number | null;
}

export interface ServicesFacts {
  systemdRunning: boolean;
  /** ksmbd.service first, then smbdirect-rdma-*.service sorted by name. */
  units: UnitState[];
  ksmbdProcesses: KsmbdProcess[];
  /** ksmbd.mountd or a ksmbd listener thread is running. */
  ksmbdRunning: boolean;
}

export const services: Fact<ServicesFacts> = {
  name: 'services',
  script: `sec services
[ -d /run/systemd/system ] && sd=yes && echo 'systemd yes' || sd=
# Without a running systemd there is no manager to ask for loaded units or their activity.
us=$({ ls /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system
  [ -n "$sd" ] && have systemctl && systemctl list-units --all --no-legend --plain 'smbdirect-rdma-*' | awk '{ print $1 }'
} | grep -E '^smbdirect-rdma-.+[.]service$' | sort -u)
for u in ksmbd.service $us; do
  have systemctl || continue
  a=; [ -n "$sd" ] && a=$(t systemctl is-active "$u")
  printf 'unit\\t%s\\t%s\\t%s\\n' "$u" "$(systemctl is-enabled "$u")" "$a"
done
echo "btime $(awk '/^btime/ { print $2 }' /proc/stat)"
echo "hz $(getconf CLK_TCK)"
kp() { s=$(cat "/proc/$1/stat") || return; s=\${s##*) }; set -- "$1" "$2" $s; printf 'proc\\t%s\\t%s\\t%s\\n' "$1" "$2" "\${22}"; }
for d in /proc/[0-9]*; do
  read -r c < "$d/comm" || continue
  case $c in ksmbd*) kp "\${d#/proc/}" "$c";; esac
done`,
  parse(s) {
    const lines = s.lines('services');
    const k = s.keyed('services');
    const systemdRunning = k.get('systemd') === 'yes';
    const btime = int(k.get('btime'));
    const hz = int(k.get('hz')) ?? 100;
    const units = lines.filter((l) => l.startsWith('unit\t')).map((l): UnitState => {
      const [, name = '', enabled = '', active = ''] = l.split('\t');
      return { name, enabled: enabled || null, active: systemdRunning && active ? active : null };
    });
    const ksmbdProcesses = lines.filter((l) => l.startsWith('proc\t')).map((l): KsmbdProcess => {
      const [, pid = '', comm = '', ticks = ''] = l.split('\t');
      const t = int(ticks);
      return { pid: Number(pid), comm, startedAt: btime !== null && t !== null ? btime + Math.round(t / hz) : null };
    });
    const ksmbdRunning = ksmbdProcesses.some((p) => p.comm === 'ksmbd.mountd' || /^ksmbd[-:]/.test(p.comm));
    return { systemdRunning, units, ksmbdProcesses, ksmbdRunning };
  },
};
