/**
 * The first task of every SMB Direct play: checks every SMB variable of the host at once
 * (validateSmbVars: ksmbd_global, ksmbd_shares, ksmbd_users, smb_mounts, RDMA and kernel
 * settings) and loads the passwords the host will need on the controller (a server: every
 * ksmbd_users entry; a client: the users its mounts log in as, which must be in its own
 * ksmbd_users). Any problem fails the host, every problem listed one per line, before any
 * change is made; warnings are shown and the play goes on.
 * Clients check their mounts against `smbdirect_cluster` (set by the runner from the inventory:
 * the servers' addresses and shares; see src/smb/cluster.ts).
 * Vars: smbdirect_role (play), every variable of docs/variables.md.
 * Example: `srv1: ksmbd_shares[0].name = "a]b": a share name cannot contain "[" or "]"; ...`
 */
import { clusterContext, CLUSTER_VAR, loadPasswords, mountUsers, validateHost } from '../../src/smb/cluster.js';
import { formatProblem } from '../../src/smb/problems.js';
import { roleOf } from '../../src/smb/support.js';
import type { Plan, Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

const task: Task = {
  name: 'smbdirect: validate variables',
  tags: ['smbdirect', 'validate', 'always'],
  inventoryVars: clusterVars,
  plan({ vars, host }): Plan {
    const role = roleOf(vars);
    const v = validateHost(vars, host);
    const errors = v.errors.map(formatProblem);
    const warnings = v.warnings.map(formatProblem);
    if (role === 'client' && Array.isArray(vars.smb_mounts) && vars.smb_mounts.length > 0 && !clusterContext(vars).given) {
      errors.unshift(`${host}: ${CLUSTER_VAR} is not set, so no server of smb_mounts can be resolved; run through the smbdirect runner (it sets ${CLUSTER_VAR} from group smb_servers of the inventory)`);
    }
    if (v.model) {
      let users = v.model.users;
      if (role === 'client') {
        const need = mountUsers(v.model);
        users = need.users;
        for (const name of need.missing) {
          errors.push(`${host}: smb_mounts user ${name} is not in this host's ksmbd_users, so its password source is unknown; add { name: ${name}, password_file: ... } to ksmbd_users for the clients (group_vars/all.yml is the usual place)`);
        }
      }
      const loaded = loadPasswords(users, vars);
      errors.push(...loaded.errors.map((e) => `${host}: ${e}`));
      warnings.push(...loaded.warnings.map((w) => `${host}: ${w}`));
    }
    if (errors.length) {
      return { status: 'fail', msg: `${errors.length} problem(s) in the variables, nothing was changed:\n${errors.join('\n')}`, warnings };
    }
    const m = v.model!;
    const what = role === 'server' ? `${m.shares.length} share(s), ${m.users.length} user(s)` : `${m.mounts.length} mount(s)`;
    return { status: 'ok', msg: `${role}: ${what}, RDMA ${m.rdma.mode}, kernel policy ${m.kernelPolicy}`, warnings };
  },
};
export default task;
