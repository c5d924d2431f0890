// Which firewall is in charge: firewalld (running), else ufw (active), else nftables rules, else
// iptables rules, else none. nft and iptables run only when their kernel modules are already
// loaded: listing would otherwise load them. Most of these need root; without it: 'unknown'.
import type { Fact } from './fact.js';
import { int } from './fact.js';

export type FirewallKind = 'firewalld' | 'ufw' | 'nftables' | 'iptables' | 'none' | 'unknown';

export interface FirewallFacts {
  active: FirewallKind;
  /** firewalld's default zone and what it opens ("445/tcp", "samba"). */
  firewalld: { zone: string; ports: string[]; services: string[] } | null;
  /** `ufw status` rule lines, e.g. "445/tcp ALLOW Anywhere". */
  ufwRules: string[];
  /** Rules in `nft list ruleset` (null: not listed); a chain with policy drop blocks by default. */
  nftRules: number | null;
  nftPolicyDrop: boolean;
  /** `-A` rules in `iptables -S` (legacy tables only; null: not listed). */
  iptablesRules: number | null;
}

export const firewall: Fact<FirewallFacts> = {
  name: 'firewall',
  script: `sec firewall
if have firewall-cmd; then
  f=$(t firewall-cmd --state 2>&1); echo "firewalld $f"
  [ "$f" = running ] && echo "zone $(t firewall-cmd --get-default-zone)" && echo "fwports $(t firewall-cmd --list-ports)" && echo "fwservices $(t firewall-cmd --list-services)"
fi
have ufw && echo "ufw $(t ufw status 2>&1 | head -n 1)"
if have nft && [ -d /sys/module/nf_tables ]; then
  if r=$(t nft list ruleset); then printf '%s\\n' "$r" | awk '/policy drop/ { d = 1 } /^\\t\\t/ && !/^\\t\\t(type|policy|comment) / { n++ } END { print "nft " n + 0 " " d + 0 }'; else echo 'nft error'; fi
fi
if have iptables && rl /proc/net/ip_tables_names; then
  if r=$(t iptables -S); then echo "iptables $(printf '%s\\n' "$r" | grep -c '^-A')"; else echo 'iptables error'; fi
fi
sec firewall.ufw
have ufw && t ufw status | grep -E 'ALLOW|DENY|REJECT|LIMIT'`,
  parse(s) {
    const k = s.keyed('firewall');
    const fwd = k.get('firewalld');
    const ufw = k.get('ufw');
    const nft = /^(\d+) ([01])$/.exec(k.get('nft') ?? '');
    const iptablesRules = int(k.get('iptables'));
    const nftRules = nft ? Number(nft[1]) : null;
    const words = (key: string): string[] => (k.get(key) ?? '').split(/\s+/).filter(Boolean);
    const firewalld = fwd === 'running' ? { zone: k.get('zone') ?? '', ports: words('fwports'), services: words('fwservices') } : null;
    let active: FirewallKind = 'none';
    if (firewalld) active = 'firewalld';
    else if (ufw === 'Status: active') active = 'ufw';
    else if (nftRules !== null && (nftRules > 0 || nft?.[2] === '1')) active = 'nftables';
    else if (iptablesRules !== null && iptablesRules > 0) active = 'iptables';
    else if (failed(ufw, k.get('nft'), k.get('iptables'))) active = 'unknown';
    return { active, firewalld, ufwRules: s.lines('firewall.ufw'), nftRules, nftPolicyDrop: nft?.[2] === '1', iptablesRules };
  },
};

/** A tool was there but could not tell (not root, daemon down): ufw without "Status:", nft or iptables "error". */
function failed(ufw: string | undefined, nft: string | undefined, iptables: string | undefined): boolean {
  return (ufw !== undefined && !ufw.startsWith('Status:')) || nft === 'error' || iptables === 'error';
}
