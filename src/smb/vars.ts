// validateSmbVars: every SMB variable of one host checked at once, turned into the typed model.
// All problems come back together (errors and warnings), each naming host, variable path, value
// (never a password) and what to do. See docs/variables.md for every variable.
import type { Vars } from '../types.js';
import { ORIGINS_VAR } from '../var-origins.js';
import { validateGlobals } from './globals.js';
import { KERNEL_POLICIES, RDMA_MODES, type KernelPolicy, type RdmaMode, type RdmaSettings, type ServerInfo, type SmbModel } from './model.js';
import { validateMounts } from './mounts.js';
import { closest, didYouMean, levenshtein, Problems, type Problem } from './problems.js';
import { validateShares } from './shares.js';
import { isRecord, netdevNameProblem } from './text.js';
import { linkNamesProblem, netdevListProblem } from './support.js';
import { validateUsers } from './users.js';

/** The variables this module reads. */
export const SMB_VARS = ['smbdirect_kernel_policy', 'smbdirect_rdma_mode', 'smbdirect_rdma_netdev', 'smbdirect_rdma_link_name', 'ksmbd_global', 'ksmbd_shares', 'ksmbd_users', 'smb_mounts'];

export interface SmbVarsContext {
  host: string;
  /** The hosts of group smb_servers, by inventory name: what smb_mounts may refer to. */
  servers?: Record<string, ServerInfo>;
}

export interface SmbValidation {
  /** Undefined when there is any error. */
  model?: SmbModel;
  errors: Problem[];
  warnings: Problem[];
}

export function validateSmbVars(vars: Vars, ctx: SmbVarsContext): SmbValidation {
  const p = new Problems(ctx.host);
  const kernelPolicy = oneOf(vars.smbdirect_kernel_policy, KERNEL_POLICIES, 'fail', 'smbdirect_kernel_policy', p);
  const rdma = rdmaSettings(vars, p);
  const global = validateGlobals(vars.ksmbd_global, p);
  const users = validateUsers(vars.ksmbd_users, p);
  const shares = validateShares(vars.ksmbd_shares, userNames(vars.ksmbd_users), p);
  const mounts = validateMounts(vars.smb_mounts, ctx.servers ?? {}, p);
  for (const netdev of rdma.netdevs ?? (rdma.netdev === undefined ? [] : [rdma.netdev])) checkBoundInterfaces(global, netdev, p);
  rejectMisspelled(vars, p);
  const model = p.errors.length ? undefined : { kernelPolicy: kernelPolicy!, rdma, global, shares, users, mounts };
  return { model, errors: p.errors, warnings: p.warnings };
}

/** What clients need to know of a validated server: its address, share and user names. */
export function serverInfo(address: string, model: Pick<SmbModel, 'shares' | 'users'>): ServerInfo {
  return { address, shares: model.shares.map((s) => s.name), users: model.users.map((u) => u.name) };
}

/** Every user name written in ksmbd_users, even of entries with errors (no cascade of "unknown user"). */
function userNames(raw: unknown): string[] {
  return Array.isArray(raw) ? raw.flatMap((u) => (isRecord(u) && typeof u.name === 'string' ? [u.name] : [])) : [];
}

function rdmaSettings(vars: Vars, p: Problems): RdmaSettings {
  if (vars.smbdirect_rdma_mode === 'auto') {
    p.error('smbdirect_rdma_mode', 'auto', 'there is no "auto": the mode decides the port (5445 for iWARP/siw, 445 otherwise) and the firewall, and iWARP and IB/RoCE devices must not be mixed on one ksmbd host', 'choose hardware, siw (the default) or rxe');
  }
  const mode: RdmaMode = vars.smbdirect_rdma_mode === 'auto' ? 'siw' : (oneOf(vars.smbdirect_rdma_mode, RDMA_MODES, 'siw', 'smbdirect_rdma_mode', p) ?? 'siw');
  const netdevs = rdmaNetdevsSetting(vars.smbdirect_rdma_netdev, mode, p);
  const link = vars.smbdirect_rdma_link_name;
  let linkNames: string[] | undefined;
  if (link !== undefined && mode === 'hardware') {
    p.warn('smbdirect_rdma_link_name', link, 'ignored with smbdirect_rdma_mode: hardware (the card\'s driver names its own device)', 'remove it, or use siw/rxe');
  } else if (mode !== 'hardware') {
    // Counted from what was written, so a bad interface name does not also report a length mismatch.
    const raw = vars.smbdirect_rdma_netdev;
    const count = Array.isArray(raw) ? Math.max(1, raw.length) : 1;
    const bad = link === undefined ? undefined : linkNamesProblem(link, count, mode);
    if (bad) p.error(bad.key, bad.value, bad.problem, bad.fix);
    else linkNames = link === undefined ? Array.from({ length: count }, (_, i) => `${mode}${i}`) : Array.isArray(link) ? (link as string[]) : [link as string];
  }
  // The lists only for the list form: a single link's settings read as they always did.
  const several = Array.isArray(vars.smbdirect_rdma_netdev);
  return {
    mode,
    ...(netdevs ? { netdev: netdevs[0]!, ...(several ? { netdevs } : {}) } : {}),
    ...(linkNames ? { linkName: linkNames[0]!, ...(several ? { linkNames } : {}) } : {}),
  };
}

/**
 * smbdirect_rdma_netdev: one interface, or (siw/rxe) a list of 1-4 distinct ones, a soft link on
 * each, for SMB3 multichannel over RDMA. A list under hardware is refused: the card's driver made
 * one RDMA device per port already, and the hardware check looks for one interface only.
 */
function rdmaNetdevsSetting(netdev: unknown, mode: RdmaMode, p: Problems): string[] | undefined {
  if (netdev === undefined) return undefined;
  const fix = 'give the interface as `ip link` shows it, or leave it unset to use the one carrying the inventory address';
  if (!Array.isArray(netdev)) {
    if (typeof netdev === 'string' && !netdevNameProblem(netdev)) return [netdev];
    p.error('smbdirect_rdma_netdev', netdev, typeof netdev === 'string' ? netdevNameProblem(netdev)! : 'must be an interface name, or a list of them (one soft RDMA link on each)', fix);
    return undefined;
  }
  if (mode === 'hardware') {
    p.error('smbdirect_rdma_netdev', netdev, 'a list names one soft RDMA link per interface (siw/rxe); with smbdirect_rdma_mode: hardware the card\'s driver makes the devices', 'give one interface (the one the hardware check looks at), or leave it unset');
    return undefined;
  }
  const before = p.errors.length;
  netdev.forEach((n, i) => {
    const bad = typeof n === 'string' ? netdevNameProblem(n) : 'must be an interface name';
    if (bad) p.error(`smbdirect_rdma_netdev[${i}]`, n, bad, fix);
  });
  const listed = netdevListProblem(netdev);
  if (listed) p.error(listed.key, listed.value, listed.problem, listed.fix);
  return p.errors.length === before ? (netdev as string[]) : undefined;
}

/** Documented variables a user sets besides SMB_VARS (docs/variables.md, README). */
const USER_VARS = ['smbdirect_fragment_dir', 'smbdirect_known_hosts', 'smbdirect_ssh_client', 'smbdirect_probe_size_mib', 'smbdirect_probe_tool'];

/** Variables the engine, the lab and the runner read besides SMB_VARS: never reported as typos. */
const OTHER_KNOWN_VARS = [...USER_VARS, ORIGINS_VAR, 'smbdirect_cluster', 'smbdirect_ssh_address', 'smbdirect_modules_built', 'smbdirect_modules_cache', 'smbdirect_role',
  'smbdirect_server_address', 'smbdirect_private_address', 'smbdirect_lab_kernel_release', 'smb_servers', 'smb_clients'];

/** Names with these prefixes are ours: one we do not know is refused, however far from a known name. */
const OUR_PREFIXES = ['ksmbd_', 'smbdirect_', 'smb_'];
const ourPrefix = (name: string): string | undefined => OUR_PREFIXES.find((x) => name.startsWith(x));

/**
 * A variable within 2 edits of one of ours is a typo (ksmbd_share), and one with our prefix that
 * we do not read (smb_mount_list) is no variable of ours: both are errors, since running on
 * without them would silently provision nothing (Ansible would ignore them). The message says
 * where the variable was set. Other teams' variables (no prefix of ours, further away) stay quiet.
 */
function rejectMisspelled(vars: Vars, p: Problems): void {
  const origins = isRecord(vars[ORIGINS_VAR]) ? vars[ORIGINS_VAR] : {};
  for (const name of Object.keys(vars)) {
    const hint = misspelledOf(name);
    const prefix = hint ? undefined : unknownPrefix(name);
    if (!hint && !prefix) continue;
    // Where it was set is said for names with one of OUR_PREFIXES only (ORIGINS_VAR, set by the runner, has every name).
    const set = ourPrefix(name) !== undefined && typeof origins[name] === 'string' ? `set in ${origins[name]}` : undefined;
    const where = set ? ` (${set})` : '';
    if (hint) p.error(name, undefined, `not a variable smbdirect-provision knows (${set ? `${set}; ` : ''}a typo would silently provision nothing)`, `did you mean "${hint}"? rename it`);
    else {
      const known = [...SMB_VARS, ...USER_VARS].filter((k) => k.startsWith(prefix!));
      p.error(name, undefined, `not a variable smbdirect-provision knows${where}: names starting with ${prefix} are ours, and nothing reads this one`,
        `${didYouMean(name, known)}the ${prefix} variables are ${known.join(', ')}: rename it, or remove it`);
    }
  }
}

/** Our prefix when `name` carries one and is none of our variables. */
function unknownPrefix(name: string): string | undefined {
  return SMB_VARS.includes(name) || OTHER_KNOWN_VARS.includes(name) ? undefined : ourPrefix(name);
}

/** name -> the variable it is a typo of, or null. Memoized: every task validates the same names per host. */
const typoOf = new Map<string, string | null>();

function misspelledOf(name: string): string | null {
  let hint = typoOf.get(name);
  if (hint === undefined) {
    const near = SMB_VARS.includes(name) || OTHER_KNOWN_VARS.includes(name) ? undefined : closest(name, SMB_VARS);
    hint = near && levenshtein(name.toLowerCase(), near) <= 2 ? near : null;
    typoOf.set(name, hint);
  }
  return hint;
}

function oneOf<T extends string>(v: unknown, values: readonly T[], dflt: T, path: string, p: Problems): T | undefined {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  p.error(path, v, `must be one of ${values.join(', ')}`, `${typeof v === 'string' ? didYouMean(v, values) : ''}the default is ${dflt}`);
  return undefined;
}

/** With "bind interfaces only", ksmbd's TCP listener must include the RDMA netdev (TCP fallback, siw's port 5445). */
function checkBoundInterfaces(global: Array<[string, string]>, netdev: string, p: Problems): void {
  const g = new Map(global);
  const ifaces = g.get('interfaces')?.split(' ');
  if (g.get('bind interfaces only') === 'yes' && ifaces && !ifaces.includes(netdev)) {
    p.warn('ksmbd_global["interfaces"]', ifaces, `does not include smbdirect_rdma_netdev ${netdev}: ksmbd will not listen for TCP there`, `add ${netdev} to interfaces`);
  }
}
