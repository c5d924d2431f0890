// Who we are on the host and what it runs: user and uid, sudo, systemd present and running as PID 1.
import type { Fact } from './fact.js';
import { int } from './fact.js';

export interface HostFacts {
  hostname: string;
  user: string;
  uid: number | null;
  sudo: boolean;
  /** systemctl exists. */
  systemd: boolean;
  /** /run/systemd/system exists: systemd is PID 1 (not so in containers and chroots). */
  systemdRunning: boolean;
  /** /proc/1/comm, e.g. "systemd", "init". */
  pid1: string;
}

export const host: Fact<HostFacts> = {
  name: 'host',
  // By builtins: the effective uid from /proc/self/status (the shell's own), its name from
  // /etc/passwd; \`id\` only when those do not tell (NSS-only users).
  script: `sec host
rl /proc/sys/kernel/hostname && echo "hostname $RL" || echo "hostname $(uname -n)"
ui=; while read -r k _ e _; do [ "$k" = Uid: ] && ui=$e && break; done < /proc/self/status
[ -n "$ui" ] || ui=$(id -u)
un=; while IFS=: read -r n _ u _; do [ "$u" = "$ui" ] && un=$n && break; done < /etc/passwd
[ -n "$un" ] || un=$(id -un)
echo "user $un"; echo "uid $ui"
rl /proc/1/comm && echo "pid1 $RL"
have sudo && echo 'sudo yes'; have systemctl && echo 'systemctl yes'; [ -d /run/systemd/system ] && echo 'systemd yes'`,
  parse(s) {
    const k = s.keyed('host');
    return {
      hostname: k.get('hostname') ?? '',
      user: k.get('user') ?? '',
      uid: int(k.get('uid')),
      sudo: k.get('sudo') === 'yes',
      systemd: k.get('systemctl') === 'yes',
      systemdRunning: k.get('systemd') === 'yes',
      pid1: k.get('pid1') ?? '',
    };
  },
};
