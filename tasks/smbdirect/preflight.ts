/**
 * Ensures this host can do SMB Direct in its role before anything is set up, and says precisely
 * why not: each missing kernel option, what it means, what to do (src/smb/support.ts). Missing
 * options are written as a kernel config fragment on the controller (merge_config.sh format):
 * ${smbdirect_fragment_dir}/${inventory_hostname}-${kernel release}.config.
 * Always refused, whatever the policy: a server with iWARP and IB/RoCE devices together on a kernel
 * with one RDMA listener (before 6.18, src/smb/rdma-ports.ts; also when the planned siw/rxe link
 * would mix them), an unusable RDMA netdev, build-modules under Secure
 * Boot or lockdown. Servers: ksmbd-tools older than 3.5.2 on kernel 6.1+ (payload_sz).
 * build-modules: when every missing option is one a rebuilt cifs/ksmbd/siw provides, the kernel is
 * Debian's, nothing enforces module signatures and the controller has built the modules for this
 * release (ensureModulesBuilt, before the play), the problems become warnings: smbdirect/kernel-modules
 * installs the modules, and verify checks the outcome. Otherwise it fails, saying which condition failed.
 * Vars: smbdirect_role (play), smbdirect_kernel_policy fail|warn|build-modules, smbdirect_rdma_mode,
 * smbdirect_rdma_netdev, smbdirect_rdma_link_name, smbdirect_modules_built, smbdirect_fragment_dir
 * (default <inventory dir>/smbdirect-kconfig; a relative one is under the inventory dir).
 * Example: smbdirect_kernel_policy: warn -> missing options become warnings, the fragment is written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CACHE_ROOT } from '../../src/paths.js';
import { truthy } from '../../src/truthy.js';
import { systemOf, type SystemFacts } from '../../src/facts/index.js';
import { distroKernelText } from '../../src/smb/distro-kernels.js';
import { kconfigFragment } from '../../src/smb/kconfig-fragment.js';
import { PER_TYPE_LISTENERS_FROM, perTypeListeners, rdmaPorts } from '../../src/smb/rdma-ports.js';
import type { RdmaMode } from '../../src/smb/model.js';
import {
  isBookworm, kernelPolicyOf, kernelSupport, ksmbdToolsInstalled, ksmbdToolsTooOld, linkNamesOf, rdmaModeOf, rdmaNetdevs, roleOf,
  compareDebVersions, moduleSigningRefusal, modulesRemedy, upstreamVersion, type KernelSupport, type Role,
} from '../../src/smb/support.js';
import type { Change, Task, Vars } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * Where the fragment goes on the controller: smbdirect_fragment_dir, a relative one under the
 * inventory's directory; by default <inventory dir>/smbdirect-kconfig (beside the inventory it
 * belongs to, never wherever the caller happens to stand), or CACHE_ROOT/kconfig for a host
 * without an inventory directory.
 */
export function fragmentPath(vars: Vars, host: string, release: string): string {
  const invDir = typeof vars.inventory_dir === 'string' && vars.inventory_dir !== '' ? vars.inventory_dir : undefined;
  const given = typeof vars.smbdirect_fragment_dir === 'string' && vars.smbdirect_fragment_dir !== '' ? vars.smbdirect_fragment_dir : undefined;
  const dir = given ? resolve(invDir ?? '.', given) : invDir ? join(invDir, 'smbdirect-kconfig') : join(CACHE_ROOT, 'kconfig');
  const name = typeof vars.inventory_hostname === 'string' ? vars.inventory_hostname : host;
  return join(dir, `${safe(name)}-${safe(release)}.config`);
}

/** iWARP next to IB/RoCE on a ksmbd host, counting the soft link this play would create. */
function mixRefusal(sys: SystemFacts, vars: Vars, role: Role, mode: RdmaMode): string | undefined {
  if (role !== 'server') return undefined;
  const names = (types: string[]) => [...new Set(sys.rdma.devices.filter((d) => types.includes(d.nodeType)).map((d) => d.name))];
  const iwarp = names(['iwarp']);
  const ibroce = names(['roce', 'ib']);
  // Every soft link the play would create (several with a list of netdevs).
  const planned = mode === 'hardware' ? [] : linkNamesOf(vars, mode).filter((l) => !sys.rdma.devices.some((d) => d.name === l));
  if (planned.length) (mode === 'siw' ? iwarp : ibroce).push(`${planned.join(', ')} (smbdirect_rdma_mode ${mode} would create ${planned.length > 1 ? 'them' : 'it'})`);
  // A kernel with one listener per node type (src/smb/rdma-ports.ts) serves both kinds.
  if (!iwarp.length || !ibroce.length || perTypeListeners(sys.kernel)) return undefined;
  const fix = planned.length ? `use smbdirect_rdma_mode ${mode === 'siw' ? 'hardware' : 'siw'} here, or remove the other devices` : 'delete the devices of one kind (rdma link delete NAME)';
  return `refusing a ksmbd server with iWARP and IB/RoCE RDMA devices together (iWARP: ${iwarp.join(', ')}; IB/RoCE: ${ibroce.join(', ')}): ${rdmaPorts(sys.kernel, ['iwarp', 'roce']).rule}, so its one listener is on 5445 and IB/RoCE clients cannot connect (kernels from ${PER_TYPE_LISTENERS_FROM.major}.${PER_TYPE_LISTENERS_FROM.minor} listen per device type); ${fix}`;
}

/** a.b.c.d/prefix -> its network, as "a.b.c.0/prefix". */
function network4(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - prefix);
  const net = Math.floor(n / size) * size;
  return `${[24, 16, 8, 0].map((shift) => Math.floor(net / 2 ** shift) % 256).join('.')}/${prefix}`;
}

/**
 * Several RDMA interfaces (a netdev list, for multichannel) sharing an IPv4 subnet: the routing
 * table sends every channel to that subnet out of one of them, so the links beyond the first
 * carry nothing. A warning: the links themselves work.
 */
function sharedSubnets(sys: SystemFacts, netdevs: string[]): string[] {
  const seen = new Map<string, string>();
  const warnings: string[] = [];
  for (const name of netdevs) {
    const dev = sys.net.netdevs.find((d) => d.name === name);
    for (const a of dev?.addrs.filter((x) => x.family === 'inet') ?? []) {
      const net = network4(a.address, a.prefix);
      const other = seen.get(net);
      if (other !== undefined && other !== name) warnings.push(`smbdirect_rdma_netdev: ${other} and ${name} are both in ${net}: the kernel routes that subnet out of one of them, so a second multichannel RDMA channel would not use ${name}; give each RDMA NIC its own subnet`);
      else seen.set(net, name);
    }
  }
  return warnings;
}

/** ksmbd-tools on a server: [problem (fatal with policy fail), warnings]. */
function ksmbdTools(sys: SystemFacts): [string | undefined, string[]] {
  const inst = ksmbdToolsInstalled(sys);
  if (!inst) return [undefined, []];
  const v = upstreamVersion(inst.version);
  const warnings = compareDebVersions(v, '3.4.5') <= 0 ? [`ksmbd-tools ${v} reads /etc/ksmbd/smb.conf (ksmbd.conf from 3.4.6 on) and has no reload (ksmbd.control --reload): configuration changes need a restart of ksmbd`] : [];
  if (!ksmbdToolsTooOld(sys, inst.version)) return [undefined, warnings];
  const text = `ksmbd-tools ${v} is too old for kernel ${sys.kernel.release} (payload_sz): every tree connect fails; install >= 3.5.2 (Debian 12: bookworm-backports)`;
  if (sys.distro.packageManager === 'apt' && isBookworm(sys)) return [undefined, [`${text}; the packages task installs it from bookworm-backports`]];
  return [text, warnings];
}

function report(host: string, role: Role, mode: RdmaMode, sys: SystemFacts, s: KernelSupport, fragment?: { path: string; content: string }, distroText?: string): string {
  const lines = [`${host}: ${role}, smbdirect_rdma_mode ${mode}, kernel ${sys.kernel.release} (config: ${sys.kconfig.source ?? 'not readable'})`];
  if (s.kernelTooOld) lines.push(`  too old  ${s.kernelTooOld}`);
  if (s.device) lines.push(`  device   ${s.device}`);
  for (const m of s.missing) lines.push(`  missing  ${m.meaning} (want ${m.want})`, `           fix: ${m.fix}`);
  if (s.unknown.length) lines.push(`  unknown  ${s.unknown.join(', ')}: no kernel config and no module evidence`);
  if (s.present.length) lines.push(`  present  ${s.present.join(', ')}`);
  for (const n of s.notes) lines.push(`  note     ${n}`);
  if (distroText) lines.push(`  remedy   ${distroText}`);
  if (fragment) lines.push(`  fragment ${fragment.path} (written on the controller unless --check):`, ...fragment.content.trimEnd().split('\n').map((l) => `    ${l}`));
  return lines.join('\n');
}

const task: Task = {
  name: 'smbdirect: preflight (kernel options, RDMA devices, ksmbd-tools)',
  tags: ['smbdirect', 'preflight'],
  inventoryVars: clusterVars,
  plan({ vars, facts, host }) {
    const sys = systemOf(facts);
    const [role, mode, policy] = [roleOf(vars), rdmaModeOf(vars), kernelPolicyOf(vars)];
    const s = kernelSupport(sys, role, mode);
    const kernelMissing = s.missing.filter((m) => m.remedy === 'kernel');
    // Each interface of smbdirect_rdma_netdev (a list: one soft link on each) must be usable.
    const netdev = mode === 'hardware' ? undefined : rdmaNetdevs(vars, sys);
    const refusals = [
      mixRefusal(sys, vars, role, mode),
      netdev && 'error' in netdev ? netdev.error : undefined,
      policy === 'build-modules' && kernelMissing.length ? moduleSigningRefusal(sys) : undefined,
    ].filter((x): x is string => x !== undefined);
    const [toolsProblem, toolsWarnings] = role === 'server' ? ksmbdTools(sys) : [undefined, []];
    // Multichannel over RDMA wants each RDMA NIC on its own subnet.
    const subnetWarnings = Array.isArray(netdev) && netdev.length > 1 ? sharedSubnets(sys, netdev.map((n) => n.netdev)) : [];
    const issues = [...(s.kernelTooOld ? [s.kernelTooOld] : []), ...(s.device ? [s.device] : []), ...s.missing.map((m) => `${m.meaning} (fix: ${m.fix})`)];
    // What this distribution's kernels build and the exact remedy for this host (src/smb/distro-kernels.ts).
    const distroText = distroKernelText(sys, role, mode, kernelMissing.map((m) => `CONFIG_${m.symbol}=${m.want}`));
    const path = fragmentPath(vars, host, sys.kernel.release);
    const content = kernelMissing.length
      ? `# Kernel options SMB Direct needs on ${host} (role ${role}, smbdirect_rdma_mode ${mode}).\n# Running kernel: ${sys.kernel.release} ${sys.kernel.version}\n${kconfigFragment(kernelMissing.map((m) => `${m.symbol}=${m.want}`))}`
      : undefined;
    const remedy = policy === 'build-modules' && issues.length ? modulesRemedy(sys, role, mode, vars) : undefined;
    // smbdirect/kernel-modules installs the rebuilt modules later in this play: they cover the issues?
    const provided = remedy !== undefined && !remedy.problem && !s.kernelTooOld && !s.device
      && s.missing.every((m) => remedy.missing.some((r) => r.symbol === m.symbol));
    const modulesBuilt = policy === 'build-modules' && (truthy(vars.smbdirect_modules_built) || provided);
    const fatal = [
      ...refusals,
      ...(issues.length && policy === 'fail' ? [...issues, ...(distroText ? [distroText] : [])] : []),
      ...(issues.length && policy === 'build-modules' && !modulesBuilt ? [`${issues.join('; ')}; build-modules comes with the kernel remedy${remedy?.problem && !refusals.includes(remedy.problem) ? `, which cannot apply: ${remedy.problem}` : ''}`] : []),
      ...(toolsProblem && policy === 'fail' ? [toolsProblem] : []),
    ];
    const where = content
      ? `; kernel config fragment: ${path} (merge: scripts/kconfig/merge_config.sh .config ${path} && make olddefconfig; rebuilt modules go to /lib/modules/${sys.kernel.release}/updates)`
      : '';
    if (fatal.length) {
      const fragment = content ? { path, content } : undefined;
      const changes = fragment ? [{ kind: 'local-file' as const, path: fragment.path, content: fragment.content }] : undefined;
      return { status: 'fail', msg: `${role} on kernel ${sys.kernel.release}: ${fatal.join('; ')}${where}`, warnings: [...toolsWarnings, ...subnetWarnings], report: report(host, role, mode, sys, s, fragment, distroText), changes };
    }
    // Going on: the problems become warnings (with the notes that explain them, e.g. the evidence used).
    const doubtful = issues.length > 0 || s.unknown.length > 0;
    const warnings = [
      ...issues, ...(toolsProblem ? [toolsProblem] : []), ...toolsWarnings, ...subnetWarnings,
      ...s.unknown.map((u) => `${u} could not be checked: no kernel config and no module evidence`), ...(doubtful ? s.notes : []),
    ];
    if (issues.length && distroText && policy === 'warn') warnings.push(distroText);
    if (issues.length) warnings.push(`smbdirect_kernel_policy=${policy}: going on${provided && remedy ? ` (smbdirect/kernel-modules installs the rebuilt ${remedy.modules.join(', ')} for ${sys.kernel.release}; verify checks the outcome)` : modulesBuilt ? ' (smbdirect_modules_built)' : ', configuration is staged only'}${where}`);
    const msg = issues.length
      ? `${role} on kernel ${sys.kernel.release}: ${issues.length} problem(s), see warnings`
      : `${role} on kernel ${sys.kernel.release}: SMB Direct supported (${s.present.join(', ')})${s.notes.length && !doubtful ? `; ${s.notes.join('; ')}` : ''}`;
    const same = content !== undefined && existsSync(path) && readFileSync(path, 'utf8') === content;
    if (!content || same) return { status: 'ok', msg, warnings };
    const changes: Change[] = [{ kind: 'local-file', path, content }];
    return { status: 'change', msg: `${msg}; kernel config fragment written to ${path}`, changes, warnings };
  },
};
export default task;
