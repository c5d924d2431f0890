/**
 * Undoes the client side: unmounts our cifs mounts (those of smb_mounts and every fstab line of
 * ours, i.e. with credentials= in /etc/smbdirect-provision/credentials), removes those fstab
 * lines (all other lines kept byte for byte) and removes the credentials files with their
 * directory; then, like teardown-server, the soft RDMA link, its boot unit and modules-load
 * file. Mount point directories are removed when empty (rmdir: never data). Works from the vars
 * as written, even when they no longer validate; a second run changes nothing.
 * Vars: smb_mounts[].path (and server/user for the credentials files).
 * Example: `smbdirect run teardown.yml` -> umount /mnt/data, fstab line and credentials removed.
 */
import { systemOf } from '../../src/facts/index.js';
import { cmd } from '../../src/quote.js';
import { rawMounts } from '../../src/smb/cluster.js';
import { CREDENTIALS_DIR, credentialsPath } from '../../src/smb/credentials.js';
import { removeFromFstab } from '../../src/smb/fstab.js';
import { DAEMON_RELOAD } from '../../src/smb/handlers.js';
import type { Change, Task, Vars } from '../../src/types.js';
import { FSTAB, ourFstabTargets } from './cifs-mount.js';
import { rdmaTeardown, rdmaTeardownReads } from './teardown-server.js';
export { handlers } from './rdma-link.js';

export const CONFIG_DIR = '/etc/smbdirect-provision';

const credentialFiles = (vars: Vars): string[] =>
  [...new Set(rawMounts(vars).flatMap((m) => (m.server && m.user ? [credentialsPath(m.server, m.user)] : [])))];

const task: Task = {
  name: 'smbdirect: teardown client',
  tags: ['smbdirect', 'teardown'],
  reads: (vars) => [FSTAB, CREDENTIALS_DIR, ...credentialFiles(vars), ...rawMounts(vars).map((m) => m.path), ...rdmaTeardownReads(vars)],
  plan({ vars, facts }) {
    const cur = facts.files[FSTAB];
    const fstab = cur?.exists ? (cur.content ?? '') : '';
    const targets = [...new Set([...rawMounts(vars).map((m) => m.path), ...ourFstabTargets(fstab)])];
    const mounted = systemOf(facts).mounts.filter((m) => targets.includes(m.target));
    const changes: Change[] = [...new Set(mounted.map((m) => m.target))].map((t) => ({ kind: 'command', desc: `umount ${t}`, cmd: cmd('umount', t) }));
    const next = removeFromFstab(fstab, targets);
    if (next !== fstab) changes.push({ kind: 'file', path: FSTAB, content: next, notify: [DAEMON_RELOAD] });
    changes.push(...credentialFiles(vars).map((path): Change => ({ kind: 'absent', path })));
    if (facts.files[CREDENTIALS_DIR]?.exists) {
      // The whole directory is ours (files of mounts no longer in the vars included); its parent only if empty.
      const rm = `${cmd('rm', '-rf', '--', CREDENTIALS_DIR)} && { ${cmd('rmdir', '--', CONFIG_DIR)} 2>/dev/null || true; }`;
      changes.push({ kind: 'command', desc: `remove ${CREDENTIALS_DIR}`, cmd: rm, unless: `! test -e ${cmd(CREDENTIALS_DIR)}` });
    }
    // Mount points: removed only when empty (rmdir never deletes data).
    for (const t of rawMounts(vars).map((m) => m.path).filter((p) => facts.files[p]?.isDir)) {
      changes.push({ kind: 'command', desc: `remove ${t} if empty`, cmd: cmd('rmdir', '--', t), unless: `! test -d ${cmd(t)} || test -n "$(ls -A ${cmd(t)})"` });
    }
    changes.push(...rdmaTeardown(vars, systemOf(facts)));
    const what = mounted.length ? `unmounted ${mounted.map((m) => m.target).join(', ')}` : 'nothing mounted';
    return { status: 'change', msg: `${what}; fstab lines, credentials and the soft RDMA link removed`, changes };
  },
};
export default task;
