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
  // Builtins wherever they do: unit files by glob, one `systemctl is-enabled` and one
  // `is-active` for all units, /proc/stat and each /proc/PID/stat read by the shell.
  script: `sec services
[ -d /run/systemd/system ] && sd=yes && echo 'systemd yes' || sd=
us=
for f in /etc/systemd/system/smbdirect-rdma-?*.service /usr/lib/systemd/system/smbdirect-rdma-?*.service /lib/systemd/system/smbdirect-rdma-?*.service; do
  [ -e "$f" ] || [ -L "$f" ] && us="$us \${f##*/}"
done
# Without a running systemd there is no manager to ask for loaded units or their activity.
[ -n "$sd" ] && have systemctl && us="$us $(systemctl list-units --all --no-legend --plain 'smbdirect-rdma-*' | awk '$1 ~ /^smbdirect-rdma-.+[.]service$/ { print $1 }')"
ul=ksmbd.service; for u in $us; do case " $ul " in *" $u "*) ;; *) ul="$ul $u";; esac; done
lines() { c=0; r=$1; while [ -n "$r" ]; do c=$((c + 1)); case $r in *"$NL"*) r=\${r#*"$NL"};; *) r=;; esac; done; }
sv() {
  # is-enabled stops at the first unit it cannot find: unless it answered for every unit, each
  # unit is asked on its own.
  en=$(systemctl is-enabled "$@"); lines "$en"; [ "$c" -eq $# ] || en=
  ac=; [ -n "$sd" ] && { ac=$(t systemctl is-active "$@"); lines "$ac"; [ "$c" -eq $# ] || ac=; }
  for u; do
    if [ -n "$en" ]; then e=\${en%%"$NL"*}; en=\${en#*"$NL"}; else e=$(systemctl is-enabled "$u"); fi
    a=; if [ -n "$ac" ]; then a=\${ac%%"$NL"*}; ac=\${ac#*"$NL"}; elif [ -n "$sd" ]; then a=$(t systemctl is-active "$u"); fi
    printf 'unit\\t%s\\t%s\\t%s\\n' "$u" "$e" "$a"
  done
}
have systemctl && sv $ul
bt
hz=
kp() {
  rl "/proc/$1/stat" || return; s=\${RL##*) }; set -- "$1" "$2" $s
  [ -n "$hz" ] || { hz=$(getconf CLK_TCK); echo "hz $hz"; }
  printf 'proc\\t%s\\t%s\\t%s\\n' "$1" "$2" "\${22}"
}
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
    const byName = new Map(lines.filter((l) => l.startsWith('unit\t')).map((l): [string, UnitState] => {
      const [, name = '', enabled = '', active = ''] = l.split('\t');
      return [name, { name, enabled: enabled || null, active: systemdRunning && active ? active : null }];
    }));
    // The script lists units as it finds them: ksmbd.service first, then ours by name, once each.
    const units = [...byName.values()].sort((a, b) => Number(b.name === 'ksmbd.service') - Number(a.name === 'ksmbd.service') || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const ksmbdProcesses = lines.filter((l) => l.startsWith('proc\t')).map((l): KsmbdProcess => {
      const [, pid = '', comm = '', ticks = ''] = l.split('\t');
      const t = int(ticks);
      return { pid: Number(pid), comm, startedAt: btime !== null && t !== null ? btime + Math.round(t / hz) : null };
    });
    const ksmbdRunning = ksmbdProcesses.some((p) => p.comm === 'ksmbd.mountd' || /^ksmbd[-:]/.test(p.comm));
    return { systemdRunning, units, ksmbdProcesses, ksmbdRunning };
  },
};
