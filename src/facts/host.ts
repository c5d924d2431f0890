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
  script: `sec host
echo "hostname $(uname -n)"; echo "user $(id -un)"; echo "uid $(id -u)"; echo "pid1 $(cat /proc/1/comm)"
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
