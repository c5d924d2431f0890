/**
 * Ensures each share's directory exists, with the owner, group and mode its ksmbd_shares entry
 * gives (owner/group/mode); without them a new directory is root-owned 0755 and an existing one
 * is left as it is. The directories it creates (parents made by mkdir -p included) are recorded
 * in /var/lib/smbdirect-provision/created-share-dirs: teardown removes those when empty. Runs after ksmbd-users, so an owner that is a ksmbd user already exists.
 * Vars: ksmbd_shares[].path, .owner, .group, .mode.
 * Example: { name: data, path: /srv/data, owner: alice, mode: "2775" } -> /srv/data alice 2775.
 */
import { smbModel, smbModelOrUndefined } from '../../src/smb/cluster.js';
import { recordCreated, SHARE_DIRS_RECORD, withParents } from '../../src/smb/created-dirs.js';
import type { Change, Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

const task: Task = {
  name: 'smbdirect: share directories',
  tags: ['smbdirect', 'ksmbd', 'shares'],
  inventoryVars: clusterVars,
  reads: (vars, host) => [SHARE_DIRS_RECORD, ...new Set(smbModelOrUndefined(vars, host)?.shares.flatMap((s) => withParents(s.path)) ?? [])],
  plan({ vars, host, facts }) {
    const shares = smbModel(vars, host).shares;
    if (!shares.length) return { status: 'ok', msg: 'no ksmbd_shares' };
    const notDir = shares.filter((s) => facts.files[s.path]?.exists && !facts.files[s.path]?.isDir);
    if (notDir.length) return { status: 'fail', msg: `share path is not a directory: ${notDir.map((s) => `${s.name} -> ${s.path}`).join(', ')}` };
    const changes: Change[] = shares.map((s) => ({
      kind: 'dir',
      path: s.path,
      ...(s.owner !== undefined ? { owner: s.owner } : {}),
      ...(s.group !== undefined ? { group: s.group } : {}),
      ...(s.mode !== undefined ? { mode: s.mode } : {}),
    }));
    changes.push(...recordCreated(SHARE_DIRS_RECORD, shares.map((s) => s.path), facts));
    return { status: 'change', msg: shares.map((s) => s.path).join(', '), changes };
  },
};
export default task;
