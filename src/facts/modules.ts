// Kernel modules that matter here: present on disk (modinfo), their dependencies (a cifs or ksmbd
// that depends on rdma_cm was built with SMB Direct), loaded (/proc/modules), and any
// out-of-tree rebuilds under /lib/modules/$(uname -r)/updates/.
import type { Fact } from './fact.js';

export const MODULE_NAMES = ['cifs', 'ksmbd', 'siw', 'rdma_rxe', 'ib_core', 'rdma_cm', 'smbdirect'] as const;
export type ModuleName = (typeof MODULE_NAMES)[number];

export interface ModuleState {
  /** modinfo found it (on disk or built in); null when modinfo itself is missing. */
  available: boolean | null;
  builtin: boolean;
  /** modinfo's filename, e.g. "/lib/modules/6.1.0-26-amd64/kernel/fs/smb/client/cifs.ko". */
  path: string | null;
  depends: string[];
  loaded: boolean;
}

export interface ModulesFacts {
  modinfo: boolean;
  modules: Record<ModuleName, ModuleState>;
  /** Files under /lib/modules/$(uname -r)/updates/ (rebuilt modules take precedence there). */
  updates: string[];
}

export const modules: Fact<ModulesFacts> = {
  name: 'modules',
  // One modinfo per module (not one per field) read by one awk, /proc/modules read by the shell,
  // and no modinfo at all when the running kernel has no module tree: each exec costs 5-15 ms on
  // a busy host. The nonce line opens each module's block in the stream awk reads.
  script: `sec modules
have modinfo && echo 'modinfo yes'
pm=' '; while read -r m _; do pm="$pm$m "; done < /proc/modules
[ -d "/lib/modules/$KR" ] && tree=yes || tree=
ml() {
  for m in ${MODULE_NAMES.join(' ')}; do
    case $pm in *" $m "*) l=yes;; *) l=no;; esac
    if [ -n "$tree" ]; then printf '%s\\t%s\\t%s\\n' "$N" "$m" "$l"; modinfo "$m"; else printf 'mod\\t%s\\t%s\\t\\t\\n' "$m" "$l"; fi
  done
}
if [ -z "$tree" ]; then ml
else ml | awk -F '\\t' -v n="$N" 'function out() { if (m != "") printf "mod\\t%s\\t%s\\t%s\\t%s\\n", m, l, f, d }
  $1 ~ "^" n "$" { out(); m = $2; l = $3; f = ""; d = ""; next }
  /^filename:/ { sub(/^filename: */, ""); f = $0 } /^depends:/ { sub(/^depends: */, ""); d = $0 } END { out() }'
fi
sec modules.updates
u="/lib/modules/$KR/updates"; [ -d "$u" ] && find "$u" -type f | sort | head -n 200`,
  parse(s) {
    const haveModinfo = s.keyed('modules').get('modinfo') === 'yes';
    const rows = new Map(s.lines('modules').filter((l) => l.startsWith('mod\t')).map((l) => {
      const [, name = '', loaded = '', path = '', depends = ''] = l.split('\t');
      return [name, { loaded: loaded === 'yes', path, depends }] as const;
    }));
    const mods = {} as Record<ModuleName, ModuleState>;
    for (const name of MODULE_NAMES) {
      const r = rows.get(name);
      const path = r?.path ? r.path : null;
      mods[name] = {
        available: haveModinfo ? path !== null : null,
        builtin: path === '(builtin)',
        path,
        depends: (r?.depends ?? '').split(',').map((d) => d.trim()).filter(Boolean),
        loaded: r?.loaded ?? false,
      };
    }
    return { modinfo: haveModinfo, modules: mods, updates: s.lines('modules.updates') };
  },
};

/** Built with SMB Direct, going by modinfo: the module depends on the RDMA core (rdma_cm / ib_core), or from 7.1 on smbdirect. */
export function dependsOnRdma(m: ModuleState): boolean {
  return m.depends.includes('rdma_cm') || m.depends.includes('ib_core') || m.depends.includes('smbdirect');
}
