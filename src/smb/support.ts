// Can this host's running kernel do SMB Direct in its role? One judgement shared by preflight,
// the tasks that need a working kernel (kernelGate) and verify. Read from the kernel config;
// when there is none, from evidence (modinfo dependencies, /proc/fs/cifs/DebugData), and the
// evidence used is named. Modules rebuilt into /lib/modules/RELEASE/updates count as the
// remedy applied. Also the small shared readers: role, policy, RDMA mode and netdev, and the
// ksmbd-tools version rule (Debian version comparison included).
import { truthy } from '../truthy.js';
import { dependsOnRdma, kernelAtLeast, systemOf, type ModuleName, type SystemFacts } from '../facts/index.js';
import type { Plan, TaskContext, Vars } from '../types.js';
import { kconfigGaps, requiredSymbols, type KconfigRequirement, type Role } from './kconfig-fragment.js';
import { KERNEL_POLICIES, RDMA_MODES, type KernelPolicy, type RdmaMode } from './model.js';
import { REBUILT_FOR, cachedModules, modulesCacheRoot, type CachedModules, type RebuiltModule } from '../kernel/remedy.js';

export type { Role };

export interface MissingOption {
  /** Without "CONFIG_". */
  symbol: string;
  /** What the host has: "not set", "absent", "m (siw.ko not installed)", ... */
  have: string;
  want: 'y' | 'm';
  /** "CONFIG_SMB_SERVER_SMBDIRECT is not set: this host can serve SMB, but not over RDMA". */
  meaning: string;
  fix: string;
  /** kernel: a kernel or module build (goes in the config fragment); package: install a package. */
  remedy: 'kernel' | 'package';
}

export interface KernelSupport {
  ok: boolean;
  missing: MissingOption[];
  /** Set when the release predates SMB Direct (5.15) and the config does not prove a backport. */
  kernelTooOld?: string;
  /** hardware mode without a usable RDMA device. */
  device?: string;
  /** Symbols nothing could decide (no config, no evidence), as "CONFIG_X". */
  unknown: string[];
  /** What is there, as "CONFIG_X=y". */
  present: string[];
  /** Which evidence was used, backports, rebuilt modules, optional options missing. */
  notes: string[];
}

export const SOFT_RDMA = {
  siw: { module: 'siw', type: 'siw', symbol: 'RDMA_SIW', nodeType: 'iwarp' },
  rxe: { module: 'rdma_rxe', type: 'rxe', symbol: 'RDMA_RXE', nodeType: 'roce' },
} as const;

// ---- variables ----

export function roleOf(vars: Vars): Role {
  const r = vars.smbdirect_role;
  if (r === 'server' || r === 'client') return r;
  const what = r === undefined ? 'is not set' : `= ${JSON.stringify(r)} is neither server nor client`;
  throw new Error(`smbdirect_role ${what}: the play sets it (vars: { smbdirect_role: server })`);
}

function oneOf<T extends string>(vars: Vars, key: string, values: readonly T[], dflt: T): T {
  const v = vars[key];
  if (v === undefined || v === null) return dflt;
  if ((values as readonly unknown[]).includes(v)) return v as T;
  throw new Error(`${key} = ${JSON.stringify(v)}: must be one of ${values.join(', ')} (default ${dflt})`);
}

export const kernelPolicyOf = (vars: Vars): KernelPolicy => oneOf(vars, 'smbdirect_kernel_policy', KERNEL_POLICIES, 'fail');

/** kernelPolicyOf, or undefined for a bad value: for code that must not throw (the validate task reports it). */
export function kernelPolicyOrUndefined(vars: Vars): KernelPolicy | undefined {
  try {
    return kernelPolicyOf(vars);
  } catch {
    return undefined;
  }
}
export const rdmaModeOf = (vars: Vars): RdmaMode => oneOf(vars, 'smbdirect_rdma_mode', RDMA_MODES, 'siw');

export function linkNameOf(vars: Vars, mode: 'siw' | 'rxe'): string {
  return linkNamesOf(vars, mode)[0]!;
}

const LINK_NAME = /^[A-Za-z0-9_.-]{1,63}$/;
/** Most soft links per host: one per RDMA NIC, and multichannel opens few channels (max_channels). */
const MAX_LINKS = 4;

/** smbdirect_rdma_netdev as a list: a string is one interface, a list one soft link on each; [] when unset. */
function netdevsOf(vars: Vars): unknown[] {
  const v = vars.smbdirect_rdma_netdev;
  if (v === undefined || v === null || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

/** A problem with an RDMA variable, as validation reports it (the host is added by the caller). */
export interface VarProblem { key: string; value: unknown; problem: string; fix: string }

/** What is wrong with a list of interfaces as smbdirect_rdma_netdev (each name's own syntax aside). */
export function netdevListProblem(list: unknown[]): VarProblem | undefined {
  const key = 'smbdirect_rdma_netdev';
  if (list.length < 1 || list.length > MAX_LINKS) return { key, value: list, problem: `a list names 1-${MAX_LINKS} interfaces, one soft RDMA link on each`, fix: 'give one interface per RDMA NIC, e.g. [eth1, eth2]' };
  const dup = list.find((n, i) => list.indexOf(n) !== i);
  if (dup !== undefined) return { key, value: list, problem: `${JSON.stringify(dup)} is listed twice: one interface carries one soft RDMA link`, fix: 'list each interface once' };
  return undefined;
}

/** What is wrong with smbdirect_rdma_link_name for `count` soft links (siw/rxe modes). */
export function linkNamesProblem(v: unknown, count: number, mode: 'siw' | 'rxe'): VarProblem | undefined {
  const list = Array.isArray(v) ? v : [v];
  const i = list.findIndex((n) => typeof n !== 'string' || !LINK_NAME.test(n));
  if (i >= 0) return { key: Array.isArray(v) ? `smbdirect_rdma_link_name[${i}]` : 'smbdirect_rdma_link_name', value: list[i], problem: 'an RDMA link name is 1-63 letters, digits, ".", "_" or "-"', fix: `write e.g. ${mode}0` };
  if (list.length !== count) {
    return { key: 'smbdirect_rdma_link_name', value: v, problem: `${list.length} name(s) for the ${count} interface(s) of smbdirect_rdma_netdev`, fix: `give one name per interface, in the same order, or leave it unset (${Array.from({ length: count }, (_, n) => `${mode}${n}`).join(', ')})` };
  }
  if (new Set(list).size !== list.length) return { key: 'smbdirect_rdma_link_name', value: v, problem: 'the names must differ (one link per interface)', fix: `leave it unset for ${mode}0, ${mode}1, ...` };
  return undefined;
}

/**
 * The soft RDMA link names, one per netdev (several netdevs: multichannel over RDMA needs a link
 * per NIC). Default: the mode's prefix plus the index, so the first stays siw0/rxe0. Throws on a
 * bad value; the validate task reports the same problems with the host first (src/smb/vars.ts).
 */
export function linkNamesOf(vars: Vars, mode: 'siw' | 'rxe'): string[] {
  const count = Math.max(1, netdevsOf(vars).length);
  const v = vars.smbdirect_rdma_link_name;
  if (v === undefined || v === null) return Array.from({ length: count }, (_, i) => `${mode}${i}`);
  const bad = linkNamesProblem(v, count, mode);
  if (bad) throw new Error(`${bad.key} = ${JSON.stringify(bad.value)}: ${bad.problem}; ${bad.fix}`);
  return Array.isArray(v) ? (v as string[]) : [v as string];
}

const isLoopbackAddr = (a: string): boolean => /^127\./.test(a) || a === '::1' || a === 'localhost';
const isIp = (a: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(a) || (a.includes(':') && /^[0-9a-f:.]+$/i.test(a));

/** Interfaces with a real address, as "eth0 10.0.0.1/24": what an error offers instead. */
function candidatesText(sys: SystemFacts): string {
  return sys.net.netdevs.filter((d) => d.name !== 'lo' && d.addrs.some((a) => a.family === 'inet' || !a.address.startsWith('fe80')))
    .map((d) => `${d.name} ${d.addrs.filter((a) => !a.address.startsWith('fe80')).map((a) => `${a.address}/${a.prefix}`).join(' ')}`).join(', ') || 'no interface has an address';
}

/** One interface named by the user (`key`: smbdirect_rdma_netdev, or smbdirect_rdma_netdev[1] of a list). */
function namedNetdev(set: unknown, key: string, sys: SystemFacts, ask: string): { netdev: string; how: string } | { error: string } {
  if (set === 'lo') return { error: `${key} is lo: RDMA cannot use the loopback interface (siw/rxe on lo fail with rdma_resolve_addr() failed -2); ${ask}` };
  if (typeof set !== 'string' || !sys.net.netdevs.some((d) => d.name === set)) return { error: `${key} ${JSON.stringify(set)} is not an interface of this host; ${ask}` };
  return { netdev: set, how: `set by ${key}` };
}

/**
 * The netdev of each soft RDMA link, in smbdirect_rdma_netdev's order (a list: one link per NIC,
 * for multichannel); unset, the one interface rdmaNetdev() finds. The first problem, if any.
 */
export function rdmaNetdevs(vars: Vars, sys: SystemFacts): Array<{ netdev: string; how: string }> | { error: string } {
  const set = vars.smbdirect_rdma_netdev;
  if (!Array.isArray(set)) {
    const one = rdmaNetdev(vars, sys);
    return 'error' in one ? one : [one];
  }
  const listed = netdevListProblem(set);
  if (listed) return { error: `smbdirect_rdma_netdev = ${JSON.stringify(set)}: ${listed.problem}; ${listed.fix}` };
  const ask = `set smbdirect_rdma_netdev to the interfaces that carry the addresses clients use, one per RDMA NIC (here: ${candidatesText(sys)})`;
  const found = set.map((name, i) => namedNetdev(name, `smbdirect_rdma_netdev[${i}]`, sys, ask));
  const bad = found.find((f): f is { error: string } => 'error' in f);
  return bad ?? (found as Array<{ netdev: string; how: string }>);
}

/** A soft RDMA link to have: its name, its netdev and how that netdev was chosen. */
export interface SoftLink { link: string; netdev: string; how: string }

/** The soft links to have, one per entry of smbdirect_rdma_netdev; the first netdev problem, if any. */
export function softLinks(vars: Vars, sys: SystemFacts, mode: 'siw' | 'rxe'): SoftLink[] | { error: string } {
  const names = linkNamesOf(vars, mode);
  const nds = rdmaNetdevs(vars, sys);
  if ('error' in nds) return nds;
  return nds.map((nd, i) => ({ link: names[i]!, ...nd }));
}

/** The netdev the soft RDMA link sits on: smbdirect_rdma_netdev, the one carrying ansible_host, the default route's. */
export function rdmaNetdev(vars: Vars, sys: SystemFacts): { netdev: string; how: string } | { error: string } {
  const devs = sys.net.netdevs;
  const ask = `set smbdirect_rdma_netdev to the interface that carries the address clients use (here: ${candidatesText(sys)})`;
  const set = vars.smbdirect_rdma_netdev;
  if (set !== undefined && set !== null && set !== '') return namedNetdev(set, 'smbdirect_rdma_netdev', sys, ask);
  // ansible_host, else the address SSH reached the host at (the runner's smbdirect_ssh_address:
  // an ssh_config HostName, for a host named by an alias)
  const given = typeof vars.ansible_host === 'string' ? vars.ansible_host.trim() : undefined;
  const viaSsh = given === undefined && typeof vars.smbdirect_ssh_address === 'string' && isIp(vars.smbdirect_ssh_address.trim());
  const addr = viaSsh ? (vars.smbdirect_ssh_address as string).trim() : given;
  const what = viaSsh ? 'the SSH address (ssh_config HostName)' : 'ansible_host';
  let why = addr === undefined ? 'ansible_host is not set' : `${what} ${addr} is not an IP address`;
  if (addr !== undefined && isLoopbackAddr(addr)) why = `${what} ${addr} is a loopback address`;
  else if (addr !== undefined && isIp(addr)) {
    const dev = devs.find((d) => d.addrs.some((a) => a.address.toLowerCase() === addr.toLowerCase()))?.name;
    if (dev && dev !== 'lo') return { netdev: dev, how: `the interface carrying ${what} ${addr}` };
    why = `no interface here carries ${what} ${addr}`;
  }
  const route = sys.net.defaultRoute4?.dev ?? sys.net.defaultRoute6?.dev;
  if (route && route !== 'lo') return { netdev: route, how: `the default route's interface; ${why}` };
  return { error: `cannot tell which interface RDMA should use: ${why} and there is no default route (RDMA cannot use lo); ${ask}` };
}

// ---- kernel support ----

const MODULE_OF: Record<string, ModuleName> = {
  SMB_SERVER: 'ksmbd', SMB_SERVER_SMBDIRECT: 'ksmbd', CIFS: 'cifs', CIFS_SMB_DIRECT: 'cifs',
  RDMA_SIW: 'siw', RDMA_RXE: 'rdma_rxe', INFINIBAND: 'ib_core', INFINIBAND_ADDR_TRANS: 'rdma_cm', SMBDIRECT: 'smbdirect',
};
const SMBDIRECT = new Set(['SMB_SERVER_SMBDIRECT', 'CIFS_SMB_DIRECT']);

interface Reading { value: string; via?: string }

/** A symbol from the kernel config, else from evidence (naming it), else 'unknown'. */
function readSymbol(sys: SystemFacts, sym: string): Reading {
  const v = (sys.kconfig.symbols as Record<string, string>)[sym] ?? 'unknown';
  if (v !== 'unknown') return { value: v };
  if (sym === 'CIFS_SMB_DIRECT' && sys.evidence.smbDirect !== null)
    return sys.evidence.smbDirect ? { value: 'y', via: '/proc/fs/cifs/DebugData lists SMB_DIRECT' } : { value: 'not set', via: '/proc/fs/cifs/DebugData does not list SMB_DIRECT' };
  const name = MODULE_OF[sym];
  const m = name ? sys.modules.modules[name] : undefined;
  if (!name || !m || m.available === null) return { value: 'unknown' };
  if (!m.available) return { value: sym === 'INFINIBAND_ADDR_TRANS' ? 'not set' : 'absent', via: `modinfo ${name}: not found` };
  if (SMBDIRECT.has(sym)) {
    if (dependsOnRdma(m)) return { value: 'y', via: `modinfo ${name}: depends on ${m.depends.join(',')}` };
    if (m.builtin) return { value: 'unknown' };
    return { value: 'not set', via: `modinfo ${name}: depends on ${m.depends.join(',') || 'nothing'}, not on rdma_cm/ib_core` };
  }
  return { value: m.builtin || sym === 'INFINIBAND_ADDR_TRANS' ? 'y' : 'm', via: `modinfo ${name}: ${m.path}` };
}

/** A rebuilt NAME.ko under /lib/modules/RELEASE/updates, if any. */
function rebuilt(sys: SystemFacts, name: string): string | undefined {
  return sys.modules.updates.find((f) => new RegExp(`/${name}\\.ko(\\.(xz|zst|gz))?$`).test(f));
}

const HAVE: Record<string, string> = { 'not set': 'is not set', absent: 'is not in this kernel', m: 'is a module (=m)', unknown: 'is unknown' };

function missingOption(sys: SystemFacts, mode: RdmaMode, r: KconfigRequirement, have: string, remedy: 'kernel' | 'package'): MissingOption {
  const reason = r.why.replace(/^CONFIG_\w+ missing: /, '');
  const meaning = reason === r.why ? r.why : `CONFIG_${r.symbol} ${HAVE[have] ?? `is ${have}`}: ${reason}`;
  const mod = MODULE_OF[r.symbol];
  const release = sys.kernel.release;
  let fix: string;
  if (remedy === 'package') {
    fix = sys.distro.id === 'ubuntu'
      ? `install linux-modules-extra-${release} (it carries ${mod}.ko)`
      : `install the package that carries ${mod}.ko for kernel ${release} (the config has =m, modinfo cannot find it)`;
  } else {
    const what = mod && r.symbol !== 'INFINIBAND' && r.symbol !== 'INFINIBAND_ADDR_TRANS' ? `the kernel, or just ${mod}.ko,` : 'the kernel';
    fix = `build ${what} with CONFIG_${r.symbol}=${r.want}`;
    if (r.symbol === 'RDMA_SIW' && ['y', 'm'].includes(sys.kconfig.symbols.RDMA_RXE)) fix += `, or use smbdirect_rdma_mode: rxe (CONFIG_RDMA_RXE=${sys.kconfig.symbols.RDMA_RXE} here)`;
    if (r.symbol === 'RDMA_RXE' && ['y', 'm'].includes(sys.kconfig.symbols.RDMA_SIW)) fix += `, or use smbdirect_rdma_mode: siw (CONFIG_RDMA_SIW=${sys.kconfig.symbols.RDMA_SIW} here)`;
  }
  return { symbol: r.symbol, have, want: r.want, meaning, fix, remedy };
}

interface Verdict { present?: string; missing?: MissingOption; unknown?: string; note?: string }

/** One requirement; `gap` is set when the reading does not satisfy it (possibly with a stricter want). */
function judge(sys: SystemFacts, mode: RdmaMode, req: KconfigRequirement, gap: KconfigRequirement | undefined, value: string): Verdict {
  const r = gap ?? req;
  const mod = MODULE_OF[r.symbol];
  const m = mod ? sys.modules.modules[mod] : undefined;
  const file = mod ? rebuilt(sys, mod) : undefined;
  if (!gap) {
    // In the config as a module, but the module is not installed (Ubuntu: linux-modules-extra)?
    if (value === 'm' && m?.available === false && !file) return { missing: missingOption(sys, mode, r, `m, ${mod}.ko not installed`, 'package') };
    return { present: `CONFIG_${r.symbol}=${value}` };
  }
  if (value === 'unknown') return r.optional ? {} : { unknown: `CONFIG_${r.symbol}` };
  // A module rebuilt into updates/ is the remedy applied, unless modinfo shows it was built without RDMA.
  const builtWithout = file !== undefined && SMBDIRECT.has(r.symbol) && m?.path === file && !dependsOnRdma(m);
  if (file && !builtWithout) {
    const stale = m?.path !== file ? ` (modinfo still finds ${m?.path ?? 'nothing'}: run depmod -a)` : '';
    return { present: `CONFIG_${r.symbol}=${r.want} (rebuilt ${mod}.ko)`, note: `${file} was rebuilt: CONFIG_${r.symbol} counted as present, the remedy is applied (the running kernel's own config says ${value})${stale}` };
  }
  if (r.optional) return { note: `${missingOption(sys, mode, r, value, 'kernel').meaning} (optional)` };
  return { missing: missingOption(sys, mode, r, value, 'kernel'), ...(builtWithout ? { note: `${file} was rebuilt without SMB Direct (modinfo: no dependency on rdma_cm/ib_core)` } : {}) };
}

export function kernelSupport(sys: SystemFacts, role: Role, mode: RdmaMode): KernelSupport {
  const required = requiredSymbols(role, mode, sys.kernel);
  const readings = new Map(required.map((r) => [r.symbol, readSymbol(sys, r.symbol)]));
  const notes: string[] = [];
  const vias = [...readings].flatMap(([s, r]) => (r.via ? [`CONFIG_${s}: ${r.via}`] : []));
  if (vias.length) notes.push(`no kernel config (/boot/config-${sys.kernel.release}, /proc/config.gz): judged from evidence: ${vias.join('; ')}`);
  if (vias.length && sys.modules.modinfo && Object.values(sys.modules.modules).every((m) => !m.available)) {
    notes.push(`modinfo finds none of ${Object.keys(sys.modules.modules).join(', ')}: /lib/modules/${sys.kernel.release} may be missing (a container or chroot?), so built-in options cannot be seen either`);
  }
  const have = Object.fromEntries([...readings].map(([s, r]) => [s, r.value]));
  const gaps = new Map(kconfigGaps(required, have).map((g) => [g.symbol, g]));
  const verdicts = required.map((req) => judge(sys, mode, req, gaps.get(req.symbol), have[req.symbol]!));
  const missing = verdicts.flatMap((v) => (v.missing ? [v.missing] : []));
  const unknown = verdicts.flatMap((v) => (v.unknown ? [v.unknown] : []));
  const present = verdicts.flatMap((v) => (v.present ? [v.present] : []));
  notes.push(...verdicts.flatMap((v) => (v.note ? [v.note] : [])));
  const k = sys.kernel;
  let kernelTooOld: string | undefined;
  if (k.major === null) notes.push(`kernel release "${k.release}" could not be parsed: the 5.15 minimum was not checked`);
  else if (!kernelAtLeast(k, 5, 15)) {
    const proven = !missing.some((m) => m.remedy === 'kernel') && unknown.length === 0;
    if (proven) notes.push(`kernel ${k.release} is older than 5.15, but has every option SMB Direct needs (a distribution backport)`);
    else kernelTooOld = `kernel ${k.release} is older than 5.15, the first release with SMB Direct in both ksmbd and cifs: install a 5.15 or newer kernel`;
  }
  if (sys.modules.updates.length && moduleSigningRefusal(sys))
    notes.push('modules under updates/ are rebuilt and usually unsigned: this host enforces module signatures (Secure Boot, lockdown or sig_enforce), so they load only if signed with an enrolled key');
  const device = mode === 'hardware' ? hardwareProblem(sys) : undefined;
  const ok = missing.length === 0 && !kernelTooOld && !device;
  return { ok, missing, ...(kernelTooOld ? { kernelTooOld } : {}), ...(device ? { device } : {}), unknown, present, notes };
}

function hardwareProblem(sys: SystemFacts): string | undefined {
  const devs = sys.rdma.devices;
  const fix = "load the card's driver (e.g. mlx5_ib, CONFIG_MLX5_INFINIBAND) or use smbdirect_rdma_mode: siw or rxe";
  if (devs.length === 0) return `smbdirect_rdma_mode is hardware, but this host has no RDMA device (/sys/class/infiniband is empty): ${fix}`;
  if (!devs.some((d) => d.netdev)) return `smbdirect_rdma_mode is hardware, but no RDMA device has a network interface (${devs.map((d) => `${d.name}/${d.port}`).join(', ')}): SMB Direct connects through an IP address (IPoIB for InfiniBand); ${fix}`;
  return undefined;
}

/** Short problem texts ("CONFIG_X (not set)", the too-old kernel, the missing device), optionally only for some symbols. */
export function supportProblems(s: KernelSupport, only?: readonly string[]): string[] {
  const have = (h: string) => (h === 'absent' ? 'not in this kernel' : h);
  const missing = s.missing.filter((m) => !only || only.includes(m.symbol)).map((m) => `CONFIG_${m.symbol} (${have(m.have)})`);
  const lacks = missing.length ? [`kernel lacks ${missing.join(', ')}`] : [];
  if (only) return lacks;
  return [...(s.kernelTooOld ? [s.kernelTooOld.replace(/:.*$/, '')] : []), ...lacks, ...(s.device ? [s.device.replace(/:[^:]*$/, '')] : [])];
}

export type Gate = { proceed: true } | { proceed: false; plan: Plan };

/**
 * For tasks that need a working kernel (link creation, ksmbd start, mount). `needs` narrows the
 * judgement to some symbols (creating a soft RDMA link needs only INFINIBAND and RDMA_SIW/RXE).
 */
export function kernelGate(ctx: TaskContext, role: Role, needs?: readonly string[]): Gate {
  const support = kernelSupport(systemOf(ctx.facts), role, rdmaModeOf(ctx.vars));
  const problems = supportProblems(support, needs);
  if (problems.length === 0) return { proceed: true };
  const what = problems.join('; ');
  const policy = kernelPolicyOf(ctx.vars);
  if (policy === 'warn') return { proceed: false, plan: { status: 'skip', msg: `${what}; smbdirect_kernel_policy=warn stages configuration only` } };
  if (policy === 'build-modules' && truthy(ctx.vars.smbdirect_modules_built)) return { proceed: true };
  if (policy === 'build-modules') {
    // smbdirect/kernel-modules (earlier in the play) installs the rebuilt modules: go on when they cover every problem.
    const rem = modulesRemedy(systemOf(ctx.facts), role, rdmaModeOf(ctx.vars), ctx.vars);
    const covered = !rem.problem && !support.kernelTooOld && !support.device
      && support.missing.filter((m) => !needs || needs.includes(m.symbol)).every((m) => rem.missing.some((r) => r.symbol === m.symbol));
    if (covered) return { proceed: true };
    if (rem.problem) return { proceed: false, plan: { status: 'fail', msg: `${what}; smbdirect_kernel_policy=build-modules: build-modules comes with the kernel remedy, which cannot apply: ${rem.problem}` } };
  }
  if (policy === 'build-modules') return { proceed: false, plan: { status: 'fail', msg: `${what}; smbdirect_kernel_policy=build-modules: build-modules comes with the kernel remedy` } };
  return { proceed: false, plan: { status: 'fail', msg: `${what}; see the preflight task (smbdirect_kernel_policy=warn stages configuration only)` } };
}

// ---- the build-modules remedy ----

/** Why unsigned rebuilt modules cannot load here (Secure Boot, lockdown, sig_enforce), if they cannot. */
export function moduleSigningRefusal(sys: SystemFacts): string | undefined {
  const s = sys.security;
  const why = [
    s.secureBoot ? `Secure Boot is on (${s.secureBootSource})` : '',
    ['integrity', 'confidentiality'].includes(s.lockdown ?? '') ? `kernel lockdown is ${s.lockdown}` : '',
    s.sigEnforce ? 'module signatures are enforced (sig_enforce)' : '',
  ].filter(Boolean);
  if (!why.length) return undefined;
  return `smbdirect_kernel_policy=build-modules cannot work here: ${why.join(', ')}, and rebuilt modules are unsigned, so the kernel refuses to load them; sign them with a key enrolled in MOK, install a kernel built with the missing options, or use smbdirect_kernel_policy=warn`;
}

export interface ModulesRemedy {
  /** What the running kernel itself lacks (rebuilt modules under updates/ not counted). */
  missing: MissingOption[];
  /** The rebuilt modules that provide it (empty: nothing to do). */
  modules: RebuiltModule[];
  /** Set when the remedy cannot apply here, saying why. */
  problem?: string;
  /** The controller's build for this kernel release, when there is one. */
  built?: CachedModules;
}

/**
 * The build-modules remedy for this host and role: the modules to install (cifs for clients,
 * ksmbd for servers, siw in siw mode; rdma_rxe and the RDMA core are Debian's own) and whether it
 * can apply: a Debian kernel, no module signature enforcement, nothing else missing, the modules
 * built for exactly this release on the controller (ensureModulesBuilt, before the play).
 */
export function modulesRemedy(sys: SystemFacts, role: Role, mode: RdmaMode, vars: Vars): ModulesRemedy {
  const stock = kernelSupport({ ...sys, modules: { ...sys.modules, updates: [] } }, role, mode);
  const missing = stock.missing.filter((m) => m.remedy === 'kernel');
  const modules = [...new Set(missing.flatMap((m) => (REBUILT_FOR[m.symbol] ? [REBUILT_FOR[m.symbol]!] : [])))];
  const release = sys.kernel.release;
  const uncovered = missing.filter((m) => !REBUILT_FOR[m.symbol]).map((m) => `CONFIG_${m.symbol}`);
  let problem: string | undefined;
  if (stock.kernelTooOld) problem = stock.kernelTooOld;
  else if (uncovered.length) problem = `build-modules rebuilds only ${[...new Set(Object.values(REBUILT_FOR))].join(', ')}; ${uncovered.join(', ')} need(s) a kernel built with ${uncovered.length > 1 ? 'them' : 'it'}`;
  if (!modules.length) return { missing, modules, problem };
  problem ??= moduleSigningRefusal(sys);
  if (!problem && sys.distro.id !== 'debian') problem = `build-modules rebuilds modules from Debian's linux-source against Debian's headers; ${sys.distro.pretty || sys.distro.id || 'this distribution'} (kernel ${release}) is not Debian`;
  const root = modulesCacheRoot(vars);
  const built = problem ? undefined : cachedModules(release, root);
  if (!problem && !built) problem = `no modules are built for kernel ${release} on the controller (${root}/${release}): the runner builds them before the play (ensureModulesBuilt from src/kernel/remedy.ts)`;
  // 7.1+: a rebuilt cifs or ksmbd depends on the rebuilt smbdirect.ko (the stock kernel has none), so it goes first.
  if (built?.modules.smbdirect && !modules.includes('smbdirect') && modules.some((n) => n === 'cifs' || n === 'ksmbd')) modules.unshift('smbdirect');
  const lacking = built ? modules.filter((n) => !built.modules[n]) : [];
  if (!problem && lacking.length) problem = `the modules built for kernel ${release} (${built!.dir}) lack ${lacking.map((n) => `${n}.ko`).join(', ')}: remove that directory so the next run builds them again`;
  return { missing, modules, ...(problem ? { problem } : {}), ...(built ? { built } : {}) };
}

// ---- ksmbd-tools ----

export const KSMBD_TOOLS_MIN = '3.5.2';
export const BOOKWORM_BACKPORTS = 'bookworm-backports';

export const isBookworm = (sys: SystemFacts): boolean =>
  sys.distro.id === 'debian' && (sys.distro.codename === 'bookworm' || sys.distro.versionId === '12');

/** The installed ksmbd-tools: the package's version, else what the binaries say (a build from source). */
export function ksmbdToolsInstalled(sys: SystemFacts): { version: string; from: 'package' | 'binary' } | null {
  const pkg = sys.packages.installed['ksmbd-tools'];
  if (pkg) return { version: pkg, from: 'package' };
  return sys.packages.ksmbdToolsVersion ? { version: sys.packages.ksmbdToolsVersion, from: 'binary' } : null;
}

/** The upstream part of a Debian/RPM version: "1:3.4.7-1" -> "3.4.7". */
export const upstreamVersion = (v: string): string => v.replace(/^\d+:/, '').replace(/-[^-]*$/, '');

/** Kernels from 6.1 on expect the share-config reply's payload_sz field, which came with ksmbd-tools 3.5.2. */
export function ksmbdToolsTooOld(sys: SystemFacts, version: string): boolean {
  return kernelAtLeast(sys.kernel, 6, 1) && compareDebVersions(upstreamVersion(version), KSMBD_TOOLS_MIN) < 0;
}

// ---- Debian version comparison (dpkg's rules: epoch, upstream, revision; ~ sorts before anything) ----

export function compareDebVersions(a: string, b: string): number {
  const pa = parseDeb(a);
  const pb = parseDeb(b);
  return Math.sign(pa.epoch - pb.epoch || verrevcmp(pa.upstream, pb.upstream) || verrevcmp(pa.revision, pb.revision));
}

function parseDeb(v: string): { epoch: number; upstream: string; revision: string } {
  const t = v.trim();
  const colon = /^(\d+):/.exec(t);
  const rest = colon ? t.slice(colon[0].length) : t;
  const dash = rest.lastIndexOf('-');
  return { epoch: colon ? Number(colon[1]) : 0, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '' };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j]);
      if (d) return d;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let first = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (first) return first;
  }
  return 0;
}
