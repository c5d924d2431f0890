/**
 * Undoes the client side: unmounts our cifs mounts (those of smb_mounts and every fstab line of
 * ours, i.e. with credentials= in /etc/smbdirect-provision/credentials; one whose server does not
 * answer is detached with a bounded `umount -l`), removes those fstab lines (all other lines kept
 * byte for byte), their boot-retry drop-ins and unit, and the credentials files with their
 * directory; then, like teardown-server, the soft RDMA link, its boot unit and modules-load
 * file (not on a host in smb_servers too: its server play removes them after stopping ksmbd). Mount point directories (and the parents mount-points created, as recorded in
 * /var/lib/smbdirect-provision) are removed deepest first when empty (rmdir: never data). Works
 * from the vars as written, even when they no longer validate; a second run changes nothing.
 * Vars: smb_mounts[].path (and server/user for the credentials files).
 * Example: `smbdirect run teardown.yml` -> umount /mnt/data, fstab line and credentials removed.
 */
import { systemOf } from '../../src/facts/index.js';
import { cmd } from '../../src/quote.js';
import { rawMounts } from '../../src/smb/cluster.js';
import { CREDENTIALS_DIR, credentialsPath } from '../../src/smb/credentials.js';
import { removeFromFstab } from '../../src/smb/fstab.js';
import { lazyUnmountCommand } from '../../src/smb/unanswered.js';
import { dropInReads, REMOUNT_UNIT, removeDropIn, removeDropInChanges } from '../../src/smb/boot-retry.js';
import { DAEMON_RELOAD } from '../../src/smb/handlers.js';
import type { Change, Task, Vars } from '../../src/types.js';
import { FSTAB, ourFstabTargets } from './cifs-mount.js';
import { MOUNT_POINTS_RECORD, removalReads, removeRecorded, removeStateDir, STATE_DIR } from '../../src/smb/created-dirs.js';
import { rdmaTeardown, rdmaTeardownReads, removedPaths } from './teardown-server.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';
export { handlers } from './rdma-link.js';

export const CONFIG_DIR = '/etc/smbdirect-provision';

const credentialFiles = (vars: Vars): string[] =>
  [...new Set(rawMounts(vars).flatMap((m) => (m.server && m.user ? [credentialsPath(m.server, m.user)] : [])))];

const task: Task = {
  name: 'smbdirect: teardown client',
  tags: ['smbdirect', 'teardown'],
  inventoryVars: clusterVars,
  reads: (vars) => [FSTAB, REMOUNT_UNIT, ...rawMounts(vars).flatMap((m) => dropInReads(m.path)), CREDENTIALS_DIR, ...credentialFiles(vars), ...rdmaTeardownReads(vars), ...removalReads(MOUNT_POINTS_RECORD, rawMounts(vars).map((m) => m.path)), STATE_DIR, `${STATE_DIR}/`],
  plan({ vars, facts }) {
    const cur = facts.files[FSTAB];
    const fstab = cur?.exists ? (cur.content ?? '') : '';
    const targets = [...new Set([...rawMounts(vars).map((m) => m.path), ...ourFstabTargets(fstab)])];
    const mounted = systemOf(facts).mounts.filter((m) => targets.includes(m.target));
    // A mount whose server does not answer is detached lazily (a plain umount would block on it).
    const changes: Change[] = [...new Map(mounted.map((m) => [m.target, m])).values()].map((m): Change => m.answer
      ? { kind: 'command', desc: `umount -l ${m.target} (its server does not answer)`, cmd: lazyUnmountCommand(m.target) }
      : { kind: 'command', desc: `umount ${m.target}`, cmd: cmd('umount', m.target) });
    const next = removeFromFstab(fstab, targets);
    if (next !== fstab) changes.push({ kind: 'file', path: FSTAB, content: next, notify: [DAEMON_RELOAD] });
    // Boot-retry drop-ins: those of smb_mounts as read; of an fstab line only (no longer in the vars), by a guarded rm.
    const inVars = new Set(rawMounts(vars).map((m) => m.path));
    changes.push(...[...inVars].flatMap(removeDropInChanges), ...targets.filter((t) => !inVars.has(t)).map(removeDropIn));
    changes.push({ kind: 'absent', path: REMOUNT_UNIT, notify: [DAEMON_RELOAD] });
    changes.push(...credentialFiles(vars).map((path): Change => ({ kind: 'absent', path })));
    if (facts.files[CREDENTIALS_DIR]?.exists) {
      // The whole directory is ours (files of mounts no longer in the vars included); its parent only if empty.
      const rm = `${cmd('rm', '-rf', '--', CREDENTIALS_DIR)} && { ${cmd('rmdir', '--', CONFIG_DIR)} 2>/dev/null || true; }`;
      changes.push({ kind: 'command', desc: `remove ${CREDENTIALS_DIR}`, cmd: rm, unless: `! test -e ${cmd(CREDENTIALS_DIR)}` });
    }
    // A host that serves too keeps its link for the server play, which stops ksmbd first: deleting
    // the device under a listening ksmbd crashed 7.3's at its next stop (a NULL dereference in
    // smb_direct_listener_destroy, in the VM matrix's teardown), and the link is the server's too.
    const alsoServer = Array.isArray(vars.group_names) && vars.group_names.includes('smb_servers');
    const rdmaDown = alsoServer ? { changes: [], warnings: [] } : rdmaTeardown(vars, systemOf(facts), facts.files);
    changes.push(...rdmaDown.changes);
    // Mount points (the recorded ones with the parents we made, and those of smb_mounts): removed
    // deepest first when empty (rmdir never deletes data). One mounted now hides what is under it: kept.
    const paths = rawMounts(vars).map((m) => m.path);
    const dirs = removeRecorded(MOUNT_POINTS_RECORD, paths, facts, mounted.map((m) => m.target), paths);
    changes.push(...dirs.changes);
    changes.push(...removeStateDir(facts, removedPaths(changes)));
    const what = mounted.length ? `unmounted ${mounted.map((m) => m.target).join(', ')}` : 'nothing mounted';
    const link = alsoServer ? 'the soft RDMA link left to the server play (this host serves too)'
      : rdmaDown.warnings.length ? "the soft RDMA link's boot unit removed, the link kept" : 'the soft RDMA link removed';
    return { status: 'change', msg: [`${what}; fstab lines, credentials and ${link}`, ...dirs.kept].join('; '), changes, warnings: [...dirs.kept, ...rdmaDown.warnings] };
  },
};
export default task;
