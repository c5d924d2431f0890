/**
 * Ensures the mount point of each smb_mounts entry exists as a directory (created root 0755).
 * Mode and owner are not managed: once mounted, the directory shows the share's root, whose
 * attributes belong to the server. The directories it creates (parents included) are recorded in
 * /var/lib/smbdirect-provision/created-mount-points: teardown removes those when empty.
 * Vars: smb_mounts[].path.
 * Example: { path: /mnt/data, ... } -> mkdir -p /mnt/data.
 */
import { smbModel, smbModelOrUndefined } from '../../src/smb/cluster.js';
import { MOUNT_POINTS_RECORD, recordCreated, withParents } from '../../src/smb/created-dirs.js';
import type { Change, Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

const task: Task = {
  name: 'smbdirect: mount points',
  tags: ['smbdirect', 'cifs', 'mount'],
  inventoryVars: clusterVars,
  reads: (vars, host) => [MOUNT_POINTS_RECORD, ...new Set(smbModelOrUndefined(vars, host)?.mounts.flatMap((m) => withParents(m.path)) ?? [])],
  plan({ vars, host, facts }) {
    const mounts = smbModel(vars, host).mounts;
    if (!mounts.length) return { status: 'ok', msg: 'no smb_mounts' };
    const notDir = mounts.filter((m) => facts.files[m.path]?.exists && !facts.files[m.path]?.isDir);
    if (notDir.length) return { status: 'fail', msg: `mount point exists but is not a directory: ${notDir.map((m) => m.path).join(', ')}` };
    const changes: Change[] = mounts.map((m) => ({ kind: 'dir', path: m.path }));
    changes.push(...recordCreated(MOUNT_POINTS_RECORD, mounts.map((m) => m.path), facts));
    return { status: 'change', msg: mounts.map((m) => m.path).join(', '), changes };
  },
};
export default task;
