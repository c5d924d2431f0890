/**
 * Ensures one cifs credentials file per (server, user) of smb_mounts, in
 * /etc/smbdirect-provision/credentials (0700 root): `username=`/`password=` lines, 0600
 * root:root, never shown in diffs or logs. Passwords come from this host's ksmbd_users
 * (password_file on the controller, relative to the inventory, or password_env); they travel
 * only inside the file's content. Files of pairs no longer mounted are removed.
 * Vars: smb_mounts (server, user), ksmbd_users (password sources).
 * Example: { server: srv1, user: alice } -> /etc/smbdirect-provision/credentials/srv1@alice.
 */
import { cmd } from '../../src/quote.js';
import { loadPasswords, mountUsers, smbModel, smbModelOrUndefined } from '../../src/smb/cluster.js';
import { CREDENTIALS_DIR, credentialsFile, credentialsPath } from '../../src/smb/credentials.js';
import type { SmbModel } from '../../src/smb/model.js';
import type { Change, Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

/** (server, user) pairs of the mounts, once each, with their file path. */
export function credentialPairs(model: Pick<SmbModel, 'mounts'>): Array<{ server: string; user: string; path: string }> {
  const seen = new Map<string, { server: string; user: string; path: string }>();
  for (const m of model.mounts) {
    const path = credentialsPath(m.server, m.user);
    if (!seen.has(path)) seen.set(path, { server: m.server, user: m.user, path });
  }
  return [...seen.values()];
}

const task: Task = {
  name: 'smbdirect: cifs credentials',
  tags: ['smbdirect', 'cifs', 'credentials'],
  inventoryVars: clusterVars,
  // The directory twice: its state, and (trailing "/") its entries, to find stale files.
  reads: (vars, host) => [CREDENTIALS_DIR, `${CREDENTIALS_DIR}/`, ...credentialPairs(smbModelOrUndefined(vars, host) ?? { mounts: [] }).map((p) => p.path)],
  plan({ vars, host, facts }) {
    const model = smbModel(vars, host);
    const pairs = credentialPairs(model);
    if (!pairs.length) return { status: 'ok', msg: 'no smb_mounts' };
    const need = mountUsers(model);
    if (need.missing.length) return { status: 'fail', msg: `smb_mounts users not in ksmbd_users (no password source): ${need.missing.join(', ')}` };
    const loaded = loadPasswords(need.users, vars);
    if (loaded.errors.length) return { status: 'fail', msg: loaded.errors.join('\n'), warnings: loaded.warnings };
    const changes: Change[] = [{ kind: 'dir', path: CREDENTIALS_DIR, mode: '0700', owner: 'root', group: 'root' }];
    for (const p of pairs) {
      const content = credentialsFile(p.user, loaded.passwords.get(p.user)!);
      changes.push({ kind: 'file', path: p.path, content, mode: '0600', owner: 'root', group: 'root', sensitive: true });
    }
    // Our file names are [A-Za-z0-9._%@-] only (credentialsPath); anything else is not ours.
    const wanted = new Set(pairs.map((p) => p.path));
    const stale = (facts.files[`${CREDENTIALS_DIR}/`]?.entries ?? [])
      .filter((n) => /^[A-Za-z0-9._%-]+@[A-Za-z0-9._%-]+$/.test(n) && !wanted.has(`${CREDENTIALS_DIR}/${n}`));
    for (const n of stale) {
      const path = `${CREDENTIALS_DIR}/${n}`;
      changes.push({ kind: 'command', desc: `remove unused credentials ${path}`, cmd: cmd('rm', '-f', '--', path), unless: `! test -e ${cmd(path)}` });
    }
    return { status: 'change', msg: pairs.map((p) => `${p.server}@${p.user}`).join(', '), changes };
  },
};
export default task;
