// Whether this host may load rebuilt (unsigned) modules: kernel lockdown mode, Secure Boot state
// (mokutil, else the SecureBoot EFI variable), and module signature enforcement.
import type { Fact } from './fact.js';

export interface SecurityFacts {
  /** The bracketed mode of /sys/kernel/security/lockdown: "none", "integrity", "confidentiality". */
  lockdown: string | null;
  efi: boolean;
  /** null when neither mokutil nor the EFI variable could tell. */
  secureBoot: boolean | null;
  secureBootSource: 'mokutil' | 'efivars' | null;
  /** /sys/module/module/parameters/sig_enforce: unsigned modules are refused. */
  sigEnforce: boolean | null;
}

export const security: Fact<SecurityFacts> = {
  name: 'security',
  script: `sec security
rl /sys/kernel/security/lockdown && echo "lockdown $RL"
[ -d /sys/firmware/efi ] && echo 'efi yes'
have mokutil && echo "mokutil $(t mokutil --sb-state 2>&1 | head -n 1)"
for v in /sys/firmware/efi/efivars/SecureBoot-*; do [ -r "$v" ] && echo "efivar $(od -An -tu1 "$v" | awk '{ for (i = 1; i <= NF; i++) b = $i } END { print b }')"; done
rl /sys/module/module/parameters/sig_enforce && echo "sig_enforce $RL"`,
  parse(s) {
    const k = s.keyed('security');
    const mok = /SecureBoot (enabled|disabled)/.exec(k.get('mokutil') ?? '')?.[1];
    const efivar = k.get('efivar');
    const fromVar = efivar === '1' ? true : efivar === '0' ? false : undefined;
    const sig = k.get('sig_enforce');
    return {
      lockdown: /\[(\w+)\]/.exec(k.get('lockdown') ?? '')?.[1] ?? null,
      efi: k.get('efi') === 'yes',
      secureBoot: mok !== undefined ? mok === 'enabled' : (fromVar ?? null),
      secureBootSource: mok !== undefined ? 'mokutil' : fromVar !== undefined ? 'efivars' : null,
      sigEnforce: sig === 'Y' ? true : sig === 'N' ? false : null,
    };
  },
};
