// The distribution, from /etc/os-release: its family decides the package manager and names.
import type { Fact } from './fact.js';

export type DistroFamily = 'debian' | 'rhel' | 'suse' | 'unknown';

export interface DistroFacts {
  /** ID, e.g. "debian", "ubuntu", "rhel", "rocky". */
  id: string;
  versionId: string;
  /** VERSION_CODENAME, e.g. "bookworm", "noble" ('' when absent, as on RHEL). */
  codename: string;
  idLike: string[];
  pretty: string;
  family: DistroFamily;
  packageManager: 'apt' | 'dnf' | 'zypper' | null;
}

const FAMILIES: Array<[DistroFamily, RegExp]> = [
  ['debian', /^(debian|ubuntu)$/],
  ['rhel', /^(rhel|fedora|centos|rocky|almalinux|ol)$/],
  ['suse', /^(suse|opensuse.*|sles.*)$/],
];
const MANAGERS = { debian: 'apt', rhel: 'dnf', suse: 'zypper', unknown: null } as const;

export const distro: Fact<DistroFacts> = {
  name: 'distro',
  script: `sec distro
f=/etc/os-release; [ -r $f ] || f=/usr/lib/os-release
while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done < $f`,
  parse(s) {
    const kv = osRelease(s.raw('distro') ?? '');
    const id = kv.get('ID') ?? '';
    const idLike = (kv.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean);
    const family = FAMILIES.find(([, re]) => [id, ...idLike].some((x) => re.test(x)))?.[0] ?? 'unknown';
    return {
      id,
      versionId: kv.get('VERSION_ID') ?? '',
      codename: kv.get('VERSION_CODENAME') ?? '',
      idLike,
      pretty: kv.get('PRETTY_NAME') ?? '',
      family,
      packageManager: MANAGERS[family],
    };
  },
};

/** os-release(5): KEY=value lines, values optionally in single or double quotes. */
function osRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const v = m[2]!;
    const q = /^"(.*)"$/.exec(v) ?? /^'(.*)'$/.exec(v);
    out.set(m[1]!, q ? q[1]!.replace(/\\(["\\$`])/g, '$1') : v);
  }
  return out;
}
