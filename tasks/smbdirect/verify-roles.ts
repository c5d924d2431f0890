/**
 * Runs smbdirect/verify once per role of the host, the roles taken from its groups (smb_servers:
 * server, smb_clients: client; smbdirect_role when set wins), so ONE play over
 * `smb_servers:smb_clients` verifies every host: with one play per role, a play whose hosts all
 * fail would end the run before the other role is verified. A host in both groups gets both
 * tables; it fails when either does.
 * Vars: group_names (inventory), smbdirect_role (optional), and those of smbdirect/verify.
 * Example: playbooks/verify.yml.
 */
import type { Plan, ProbeCommand, Task, TaskContext, Vars } from '../../src/types.js';
import verify from './verify.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

const ROLE_OF_GROUP: Record<string, 'server' | 'client'> = { smb_servers: 'server', smb_clients: 'client' };

export function rolesOf(vars: Vars): string[] {
  if (vars.smbdirect_role !== undefined) return [String(vars.smbdirect_role)];
  const groups = Array.isArray(vars.group_names) ? vars.group_names : [];
  return [...new Set(groups.flatMap((g) => (typeof g === 'string' && ROLE_OF_GROUP[g] ? [ROLE_OF_GROUP[g]!] : [])))];
}

const withRole = (vars: Vars, role: string): Vars => ({ ...vars, smbdirect_role: role });

function combine(plans: Plan[]): Plan {
  if (plans.length === 1) return plans[0]!;
  const failed = plans.some((p) => p.status === 'fail');
  const msg = plans.map((p) => ('msg' in p ? p.msg : '')).join('; ');
  const report = plans.map((p) => p.report).filter(Boolean).join('\n');
  const warnings = plans.flatMap((p) => p.warnings ?? []);
  const checks = plans.flatMap((p) => p.checks ?? []);
  const infos = plans.flatMap((p) => (p.hostInfo ? [p.hostInfo] : []));
  const hostInfo = infos[0] && { ...infos[0], roles: infos.flatMap((i) => i.roles) };
  return { status: failed ? 'fail' : 'ok', msg, report, warnings, checks, ...(hostInfo && { hostInfo }) };
}

const task: Task = {
  name: verify.name,
  tags: verify.tags,
  inventoryVars: clusterVars,
  reads: (vars, host) => [...new Set(rolesOf(vars).flatMap((r) => verify.reads?.(withRole(vars, r), host) ?? []))],
  probes: (vars, host, check) => Object.assign({}, ...rolesOf(vars).map((r) => verify.probes?.(withRole(vars, r), host, check) ?? {})) as Record<string, ProbeCommand>,
  plan(ctx: TaskContext): Plan {
    const roles = rolesOf(ctx.vars);
    if (!roles.length) return { status: 'fail', msg: 'this host is in neither smb_servers nor smb_clients, and smbdirect_role is not set: nothing to verify' };
    return combine(roles.map((r) => verify.plan({ ...ctx, vars: withRole(ctx.vars, r) })));
  },
};
export default task;
