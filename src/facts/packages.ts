// Installed versions of the packages we manage (dpkg-query or rpm, whichever exists), what the
// ksmbd-tools binaries and module say about their versions, and the backports suites apt knows.
import type { Fact } from './fact.js';

const DEB = ['ksmbd-tools', 'cifs-utils', 'rdma-core', 'iproute2', 'ibverbs-utils', 'rdmacm-utils'];
const RPM = ['ksmbd-tools', 'cifs-utils', 'rdma-core', 'iproute', 'iproute2', 'libibverbs-utils', 'librdmacm-utils'];

export interface PackagesFacts {
  tool: 'dpkg' | 'rpm' | null;
  /** Installed packages among those queried: name -> version ("3.5.2-1~bpo12+1", "7.0-2"). */
  installed: Record<string, string>;
  /** `ksmbd.mountd -V` / `ksmbd.control -V`: "3.4.7"; asked only when no package has ksmbd-tools (null then). */
  ksmbdToolsVersion: string | null;
  /** /sys/module/ksmbd/version (the loaded module's version). */
  ksmbdModuleVersion: string | null;
  /** Backports suites named in apt sources, e.g. ["bookworm-backports"]. */
  aptBackports: string[];
}

export const packages: Fact<PackagesFacts> = {
  name: 'packages',
  script: `sec packages
po=
# dpkg's status file read by one awk (a third of dpkg-query's cost), the same lines dpkg-query
# prints; dpkg-query itself while a dpkg run left journal entries in updates/ (not yet merged).
set -- /var/lib/dpkg/updates/[0-9]*
if have dpkg-query && [ -r /var/lib/dpkg/status ] && [ ! -e "$1" ] && have awk; then
  echo 'tool dpkg'
  po=$(awk -v want=' ${DEB.join(' ')} ' 'BEGIN { RS = ""; FS = "\\n" }
    { p = s = v = ""; for (i = 1; i <= NF; i++) { if ($i ~ /^Package: /) p = substr($i, 10); else if ($i ~ /^Status: /) s = substr($i, 9); else if ($i ~ /^Version: /) v = substr($i, 10) }
      if (p != "" && index(want, " " p " ")) printf "%s\\t%s\\t%s\\n", p, s, v }' /var/lib/dpkg/status)
elif have dpkg-query; then echo 'tool dpkg'; po=$(dpkg-query -W -f='\${Package}\\t\${Status}\\t\${Version}\\n' ${DEB.join(' ')})
elif have rpm; then echo 'tool rpm'; po=$(rpm -q --qf '%{NAME}\\tinstalled\\t%{VERSION}-%{RELEASE}\\n' ${RPM.join(' ')})
fi
[ -z "$po" ] || printf '%s\\n' "$po"
sec packages.ksmbd
# The binaries are asked only when no package has ksmbd-tools installed (the package's version
# wins), and ksmbd.control only when ksmbd.mountd did not tell.
kt=; case "$NL$po" in *"\${NL}ksmbd-tools$TAB"*) kt="$NL$po"; kt=\${kt#*"\${NL}ksmbd-tools$TAB"}; kt=\${kt%%"$NL"*};; esac
case $kt in *" installed$TAB"?*|"installed$TAB"?*) ;; *)
  v=; have ksmbd.mountd && v=$(ksmbd.mountd -V 2>&1); [ -n "$v" ] && echo "mountd \${v%%"$NL"*}"
  case $v in *'ksmbd-tools version'*) ;; *) have ksmbd.control && { v=$(ksmbd.control -V 2>&1); echo "control \${v%%"$NL"*}"; };; esac;;
esac
rl /sys/module/ksmbd/version && echo "module $RL"
sec packages.apt
# Lines naming a -backports suite before any comment, read by the shell (apt source files are small).
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
  [ -f "$f" ] || continue
  while IFS= read -r l || [ -n "$l" ]; do case \${l%%#*} in *-backports*) printf '%s\\n' "$l";; esac; done < "$f"
done`,
  parse(s) {
    const lines = s.lines('packages');
    const tool = /^tool (dpkg|rpm)$/.exec(lines[0] ?? '')?.[1] as 'dpkg' | 'rpm' | undefined;
    const installed: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const [name = '', status = '', version = ''] = line.split('\t');
      if (/(^| )installed$/.test(status) && version !== '') installed[name] = version;
    }
    const k = s.keyed('packages.ksmbd');
    const ver = (v?: string): string | undefined => /ksmbd-tools version\s*:\s*(\S+)/.exec(v ?? '')?.[1];
    const backports = s.lines('packages.apt').flatMap((l) => l.match(/\b[a-z]+-backports\b/g) ?? []);
    return {
      tool: tool ?? null,
      installed,
      ksmbdToolsVersion: ver(k.get('mountd')) ?? ver(k.get('control')) ?? null,
      ksmbdModuleVersion: k.get('module')?.trim() || null,
      aptBackports: [...new Set(backports)].sort(),
    };
  },
};
