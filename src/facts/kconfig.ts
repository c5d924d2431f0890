// The running kernel's build options that decide SMB Direct, read from /boot/config-$(uname -r)
// or /proc/config.gz; only the symbols below are grepped, to keep the output small.
import { quote } from '../quote.js';
import type { Fact } from './fact.js';

export const KCONFIG_SYMBOLS = [
  'SMB_SERVER', 'SMB_SERVER_SMBDIRECT', 'CIFS', 'CIFS_SMB_DIRECT', 'SMBDIRECT',
  'INFINIBAND', 'INFINIBAND_ADDR_TRANS', 'INFINIBAND_USER_ACCESS', 'INFINIBAND_IPOIB',
  'RDMA_SIW', 'RDMA_RXE', 'MODULE_SIG_FORCE', 'SECURITY_LOCKDOWN_LSM', 'MLX5_INFINIBAND',
] as const;
export type KconfigSymbol = (typeof KCONFIG_SYMBOLS)[number];

/** 'absent': the config was read and does not mention the symbol; 'unknown': no config found. */
export type KconfigValue = 'y' | 'm' | 'not set' | 'absent' | 'unknown';

export interface KconfigFacts {
  /** Where the config was read: "/boot/config-6.1.0-26-amd64", "/proc/config.gz", or null. */
  source: string | null;
  symbols: Record<KconfigSymbol, KconfigValue>;
}

const PATTERN = quote(`^(# )?CONFIG_(${KCONFIG_SYMBOLS.join('|')})(=| is not set)`);

export const kconfig: Fact<KconfigFacts> = {
  name: 'kconfig',
  // The running kernel's options cannot change before a reboot: the controller keeps what it read
  // per boot id and source (KC="BOOT_ID SOURCE", src/facts/kconfig-cache.ts), and the host only
  // answers "cached" while both are the same. gzip -dc, not zcat: zcat is a script around it.
  script: `sec kconfig
c="/boot/config-$KR"
if [ -r "$c" ]; then s=$c; elif [ -r /proc/config.gz ] && have gzip; then s=/proc/config.gz; else s=; fi
rl /proc/sys/kernel/random/boot_id; b=$RL
if [ -z "$s" ]; then echo 'source none'
elif [ -n "$b" ] && [ "$b $s" = "$KC" ]; then echo "cached $b $s"
else
  echo "source $s"; [ -z "$b" ] || echo "boot $b"
  if [ "$s" = "$c" ]; then grep -E ${PATTERN} "$c"; else gzip -dc /proc/config.gz | grep -E ${PATTERN}; fi
fi`,
  parse(s) {
    const lines = s.lines('kconfig');
    const src = /^source (.+)$/.exec(lines[0] ?? '')?.[1];
    const source = src === undefined || src === 'none' ? null : src;
    const found = new Map<string, KconfigValue>();
    for (const line of lines) {
      const set = /^CONFIG_(\w+)=(.*)$/.exec(line);
      if (set) found.set(set[1]!, set[2] === 'y' || set[2] === 'm' ? set[2] : 'not set');
      const unset = /^# CONFIG_(\w+) is not set$/.exec(line);
      if (unset) found.set(unset[1]!, 'not set');
    }
    const symbols = {} as Record<KconfigSymbol, KconfigValue>;
    for (const sym of KCONFIG_SYMBOLS) symbols[sym] = source === null ? 'unknown' : (found.get(sym) ?? 'absent');
    return { source, symbols };
  },
};

/** y or m: the feature is in this kernel (built in or as a module). */
export function kconfigEnabled(k: KconfigFacts, sym: KconfigSymbol): boolean {
  return k.symbols[sym] === 'y' || k.symbols[sym] === 'm';
}
