// What one host's plan may know about the other hosts: a play on a client cannot see the
// servers' vars, so the runner injects `smbdirect_cluster` from the inventory before the run
// (src/smb/inventory-cluster.ts, declared by the SMB tasks as Task.inventoryVars). Contract:
//   smbdirect_cluster: { servers: { INVENTORY_NAME: { address: "10.0.0.11", shares: ["data"], users?: ["alice"] } } }
// One entry per host of group smb_servers; `address` is what clients mount from. Also the
// validated model of a host, shared by the SMB tasks (they run after smbdirect/validate).
import type { Vars } from '../types.js';
import type { KsmbdUser, ServerInfo, SmbModel } from './model.js';
import { loadPassword } from './passwords.js';
import { validateSmbVars, type SmbValidation } from './vars.js';
import { isRecord, normalizePath } from './text.js';

export const CLUSTER_VAR = 'smbdirect_cluster';

export interface ClusterContext {
  /** False when the var is absent (a run without the runner, or a test that did not set it). */
  given: boolean;
  servers: Record<string, ServerInfo>;
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

/** Reads vars.smbdirect_cluster; throws on a malformed value (it is built by the runner, or overridden with -e). */
export function clusterContext(vars: Vars): ClusterContext {
  const raw = vars[CLUSTER_VAR];
  if (raw === undefined || raw === null) return { given: false, servers: {} };
  const bad = (why: string) => new Error(`${CLUSTER_VAR} ${why}: expected { servers: { NAME: { address, shares: [...] } } } (the runner sets it from the inventory)`);
  if (!isRecord(raw) || !isRecord(raw.servers)) throw bad('has no "servers" mapping');
  const servers: Record<string, ServerInfo> = {};
  for (const [name, s] of Object.entries(raw.servers)) {
    if (!isRecord(s) || typeof s.address !== 'string' || s.address === '') throw bad(`.servers.${name} has no address`);
    const shares = strings(s.shares);
    const users = strings(s.users);
    servers[name] = { address: s.address, ...(shares ? { shares } : {}), ...(users ? { users } : {}) };
  }
  return { given: true, servers };
}

// The SMB tasks of a play ask for the same host's model ~20 times (their reads, probes and plans);
// the runner gives them one vars object per host and play, and plans never change it: validated
// once per vars object (#14: ~1 ms of the controller per host and play). Treat the result as read-only.
const validated = new WeakMap<Vars, Map<string, SmbValidation>>();

/** validateSmbVars with this host's view of the servers. */
export function validateHost(vars: Vars, host: string): SmbValidation {
  let byHost = validated.get(vars);
  if (!byHost) validated.set(vars, (byHost = new Map()));
  let v = byHost.get(host);
  if (!v) byHost.set(host, (v = validateSmbVars(vars, { host, servers: clusterContext(vars).servers })));
  return v;
}

/** The validated model; throws a short message when the vars are invalid (smbdirect/validate lists why). */
export function smbModel(vars: Vars, host: string): SmbModel {
  const v = validateHost(vars, host);
  if (!v.model) throw new Error(`${v.errors.length} problem(s) in the SMB variables: see the smbdirect: validate task`);
  return v.model;
}

/** The model, or undefined when invalid: for reads() and probes(), which must not throw. */
export function smbModelOrUndefined(vars: Vars, host: string): SmbModel | undefined {
  try {
    return validateHost(vars, host).model;
  } catch {
    return undefined;
  }
}

/** The address a client mounts `server` from. */
export function serverAddress(vars: Vars, server: string): string {
  const s = clusterContext(vars).servers[server];
  if (!s) throw new Error(`server ${server} is not in ${CLUSTER_VAR} (not a host of group smb_servers?)`);
  return s.address;
}

/**
 * For teardown, which must work even when the vars no longer validate: the mounts as written
 * (server, user, path), every entry with a string path, paths normalized.
 */
export function rawMounts(vars: Vars): Array<{ server?: string; user?: string; path: string }> {
  const list = Array.isArray(vars.smb_mounts) ? vars.smb_mounts : [];
  return list.flatMap((m) => {
    if (!isRecord(m) || typeof m.path !== 'string' || !m.path.startsWith('/')) return [];
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    return [{ server: str(m.server), user: str(m.user), path: normalizePath(m.path) }];
  });
}

export interface LoadedPasswords {
  /** By user name. Values are registered secrets: never put them in a command, desc or message. */
  passwords: Map<string, string>;
  warnings: string[];
  /** One line per user whose password could not be loaded (never containing a password). */
  errors: string[];
}

/** Loads the passwords of `users` on the controller; relative password_file paths are under the inventory dir. */
export function loadPasswords(users: KsmbdUser[], vars: Vars, env: NodeJS.ProcessEnv = process.env): LoadedPasswords {
  const baseDir = typeof vars.inventory_dir === 'string' && vars.inventory_dir !== '' ? vars.inventory_dir : process.cwd();
  const out: LoadedPasswords = { passwords: new Map(), warnings: [], errors: [] };
  for (const u of users) {
    try {
      const { password, warnings } = loadPassword(u, env, undefined, baseDir);
      out.passwords.set(u.name, password);
      out.warnings.push(...warnings);
    } catch (e) {
      out.errors.push((e as Error).message);
    }
  }
  return out;
}

/** The ksmbd_users entries a client's mounts log in as (their password sources), in mount order, once each. */
export function mountUsers(model: SmbModel): { users: KsmbdUser[]; missing: string[] } {
  const names = [...new Set(model.mounts.map((m) => m.user))];
  const users = names.flatMap((n) => model.users.filter((u) => u.name === n));
  return { users, missing: names.filter((n) => !model.users.some((u) => u.name === n)) };
}
