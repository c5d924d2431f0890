/**
 * Ensures the packages for the host's role are installed (only missing or too old ones):
 *   apt server: ksmbd-tools rdma-core iproute2 ibverbs-utils rdmacm-utils kmod
 *   apt client: cifs-utils rdma-core iproute2 ibverbs-utils rdmacm-utils
 *   dnf client: cifs-utils rdma-core iproute (a dnf server fails: RHEL has no ksmbd-tools, no ksmbd)
 *   zypper: ksmbd-tools (server) or cifs-utils (client), rdma-core iproute2
 * Debian 12 servers: ksmbd-tools >= 3.5.2 from bookworm-backports (3.4.7 breaks with the 6.1 kernel:
 * payload_sz), adding the backports source when apt does not know it. Ubuntu with siw/rxe: the
 * linux-modules-extra package of the running kernel when it carries the missing siw/rdma_rxe module.
 * Vars: smbdirect_role (play), smbdirect_rdma_mode. Example: a bookworm server with ksmbd-tools
 * 3.4.7 gets `apt-get install -t bookworm-backports ksmbd-tools`.
 */
import { systemOf, type SystemFacts } from '../../src/facts/index.js';
import { RESTART_KSMBD } from '../../src/smb/handlers.js';
import {
  BOOKWORM_BACKPORTS, KSMBD_TOOLS_MIN, SOFT_RDMA, compareDebVersions, isBookworm, rdmaModeOf, roleOf,
} from '../../src/smb/support.js';
import type { Change, Task, Vars } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

export const BACKPORTS_LIST = '/etc/apt/sources.list.d/smbdirect-backports.list';
export const BACKPORTS_LINE = `deb http://deb.debian.org/debian ${BOOKWORM_BACKPORTS} main`;

export const PACKAGES = {
  apt: {
    server: ['ksmbd-tools', 'rdma-core', 'iproute2', 'ibverbs-utils', 'rdmacm-utils', 'kmod'],
    client: ['cifs-utils', 'rdma-core', 'iproute2', 'ibverbs-utils', 'rdmacm-utils'],
  },
  dnf: { server: null, client: ['cifs-utils', 'rdma-core', 'iproute'] },
  zypper: { server: ['ksmbd-tools', 'rdma-core', 'iproute2'], client: ['cifs-utils', 'rdma-core', 'iproute2'] },
} as const;

/** The installed version; kmod is not queried by the facts: modinfo being there says it is installed. */
function installed(sys: SystemFacts, name: string): string | undefined {
  if (name === 'kmod') return sys.packages.installed.kmod ?? (sys.modules.modinfo ? '(modinfo present)' : undefined);
  return sys.packages.installed[name];
}

/** Ubuntu ships siw (and sometimes rdma_rxe) in linux-modules-extra-RELEASE. */
function modulesExtra(sys: SystemFacts, vars: Vars): string[] {
  const mode = rdmaModeOf(vars);
  if (sys.distro.id !== 'ubuntu' || mode === 'hardware') return [];
  const soft = SOFT_RDMA[mode];
  const absent = sys.kconfig.symbols[soft.symbol] === 'm' && sys.modules.modules[soft.module].available === false;
  return absent ? [`linux-modules-extra-${sys.kernel.release}`] : [];
}

const task: Task = {
  name: 'smbdirect: packages',
  tags: ['smbdirect', 'packages'],
  inventoryVars: clusterVars,
  reads: () => [BACKPORTS_LIST],
  plan({ vars, facts }) {
    const sys = systemOf(facts);
    const role = roleOf(vars);
    const pm = sys.distro.packageManager;
    const distro = sys.distro.pretty || `ID=${sys.distro.id || 'unknown'}`;
    if (!pm) return { status: 'fail', msg: `${distro}: no known package manager (apt, dnf, zypper); install ksmbd-tools or cifs-utils, rdma-core and iproute2 yourself` };
    const names = PACKAGES[pm][role];
    if (!names) {
      return { status: 'fail', msg: `${distro} cannot be an SMB Direct server: it packages no ksmbd-tools and its kernel has no ksmbd (CONFIG_SMB_SERVER); use a Debian, Ubuntu or SUSE host as the server (RHEL-family hosts work as clients)` };
    }
    // Debian 12: ksmbd-tools comes from bookworm-backports (3.4.7 in bookworm is too old for its kernel).
    const backports = role === 'server' && pm === 'apt' && isBookworm(sys);
    const tools = installed(sys, 'ksmbd-tools');
    const toolsNeeded = backports && (!tools || compareDebVersions(tools, KSMBD_TOOLS_MIN) < 0);
    const missing = [...names.filter((n) => !installed(sys, n) && !(backports && n === 'ksmbd-tools')), ...modulesExtra(sys, vars)];
    const changes: Change[] = [];
    if (missing.length) changes.push({ kind: 'packages', manager: pm, names: missing });
    if (toolsNeeded && !sys.packages.aptBackports.includes(BOOKWORM_BACKPORTS)) {
      changes.push({ kind: 'file', path: BACKPORTS_LIST, content: `# Added by smbdirect-provision: ksmbd-tools >= ${KSMBD_TOOLS_MIN}\n${BACKPORTS_LINE}\n`, mode: '0644', owner: 'root', group: 'root' });
    }
    if (toolsNeeded) {
      // A running ksmbd.mountd keeps the old binary until restarted.
      const notify = sys.services.ksmbdRunning ? { notify: [RESTART_KSMBD] } : {};
      changes.push({ kind: 'packages', manager: 'apt', names: ['ksmbd-tools'], release: BOOKWORM_BACKPORTS, ...notify });
    }
    if (!changes.length) return { status: 'ok', msg: `all present (${names.map((n) => `${n} ${installed(sys, n)}`).join(', ')})` };
    const why = toolsNeeded ? [`ksmbd-tools from ${BOOKWORM_BACKPORTS} (${tools ? `${tools} installed` : 'not installed'}, >= ${KSMBD_TOOLS_MIN} needed)`] : [];
    return { status: 'change', msg: `install ${[...missing, ...why].join(', ')}`, changes };
  },
};
export default task;
