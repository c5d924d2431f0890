// Kernel modules that matter here: present on disk (modinfo), their dependencies (a cifs or ksmbd
// that depends on rdma_cm was built with SMB Direct), loaded (/proc/modules), and any
// out-of-tree rebuilds under /lib/modules/$(uname -r)/updates/.
import type { Fact } from './fact.js';

export const MODULE_NAMES = ['cifs', 'ksmbd', 'siw', 'rdma_rxe', 'ib_core', 'rdma_cm'] as const;
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
  // One modinfo per module (not one per field), /proc/modules read once, and no modinfo at all
  // when the running kernel has no module tree: each exec costs 5-15 ms on a busy host.
  script: `sec modules
have modinfo && echo 'modinfo yes'
pm=$(cat /proc/modules)
[ -d "/lib/modules/$(uname -r)" ] && tree=yes || tree=
for m in ${MODULE_NAMES.join(' ')}; do
  fd='\t'
  [ -n "$tree" ] && fd=$(modinfo "$m" | awk '/^filename:/ { sub(/^filename: */, ""); f = $0 } /^depends:/ { sub(/^depends: */, ""); d = $0 } END { printf "%s\\t%s", f, d }')
  case "
$pm" in *"
$m "*) l=yes;; *) l=no;; esac
  printf 'mod\\t%s\\t%s\\t%s\\n' "$m" "$l" "$fd"
done
sec modules.updates
find "/lib/modules/$(uname -r)/updates" -type f | sort | head -n 200`,
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

/** Built with SMB Direct, going by modinfo: the module depends on the RDMA core (rdma_cm / ib_core). */
export function dependsOnRdma(m: ModuleState): boolean {
  return m.depends.includes('rdma_cm') || m.depends.includes('ib_core');
}
