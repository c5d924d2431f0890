/**
 * Ensures the ksmbd users exist: /etc/ksmbd/ksmbdpwd.db written whole from ksmbd_users (NT hashes,
 * 0600 root:root, never shown; users added by hand are removed, with a warning), notifying
 * "reload ksmbd"; and, since ksmbd maps each SMB user to the system user of the same name, a
 * system user (`useradd --system --no-create-home --shell /usr/sbin/nologin NAME`) for every
 * ksmbd user that can reach a share without force_user. Passwords are read on the controller
 * (password_file relative to the inventory, or password_env) and only ever travel inside the
 * file's content: never in a command, a description or a message.
 * Vars: ksmbd_users, ksmbd_shares (valid_users, force_user).
 * Example: ksmbd_users: [{ name: alice, password_file: secrets/alice.pw }] -> "alice:<hash>".
 */
import { cmd } from '../../src/quote.js';
import { loadPasswords, smbModel, smbModelOrUndefined } from '../../src/smb/cluster.js';
import { RELOAD_KSMBD } from '../../src/smb/handlers.js';
import type { SmbModel } from '../../src/smb/model.js';
import { usersDb, usersDbNames } from '../../src/smb/users-db.js';
import type { Change, Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

export const USERS_DB = '/etc/ksmbd/ksmbdpwd.db';
export const PASSWD_PROBE = 'ksmbd_users_getent';

/** ksmbd users reaching at least one share that does not force a user: they need a system user. */
export function systemUsersNeeded(model: Pick<SmbModel, 'users' | 'shares'>): string[] {
  const open = model.shares.filter((s) => s.forceUser === undefined);
  return model.users.map((u) => u.name).filter((n) => open.some((s) => s.validUsers.length === 0 || s.validUsers.includes(n)));
}

const task: Task = {
  name: 'smbdirect: ksmbd users',
  tags: ['smbdirect', 'ksmbd', 'users'],
  inventoryVars: clusterVars,
  reads: () => [USERS_DB],
  probes: (vars, host): Record<string, string> => {
    const m = smbModelOrUndefined(vars, host);
    const names = m ? systemUsersNeeded(m) : [];
    // getent exits 2 when a name is missing; the found ones are printed either way.
    return names.length ? { [PASSWD_PROBE]: `${cmd('getent', 'passwd', ...names)}; true` } : {};
  },
  plan({ vars, facts, host }) {
    const model = smbModel(vars, host);
    const loaded = loadPasswords(model.users, vars);
    if (loaded.errors.length) return { status: 'fail', msg: loaded.errors.join('\n'), warnings: loaded.warnings };
    const content = usersDb(model.users.map((u) => ({ name: u.name, password: loaded.passwords.get(u.name)! })));
    const warnings: string[] = []; // password file warnings: shown once, by smbdirect: validate
    const cur = facts.files[USERS_DB];
    const dropped = cur?.content ? usersDbNames(cur.content).filter((n) => !model.users.some((u) => u.name === n)) : [];
    if (dropped.length) warnings.push(`${USERS_DB}: removing users not in ksmbd_users: ${dropped.join(', ')}`);
    const known = new Set((facts.probes[PASSWD_PROBE]?.stdout ?? '').split('\n').map((l) => l.split(':')[0]));
    const missing = systemUsersNeeded(model).filter((n) => !known.has(n));
    const changes: Change[] = missing.map((n) => ({
      kind: 'command',
      desc: `create system user ${n}`,
      cmd: cmd('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', n),
      unless: cmd('getent', 'passwd', n),
    }));
    changes.push({ kind: 'file', path: USERS_DB, content, mode: '0600', owner: 'root', group: 'root', sensitive: true, notify: [RELOAD_KSMBD] });
    const created = missing.length ? `; system users created: ${missing.join(', ')}` : '';
    return { status: 'change', msg: `${model.users.length} ksmbd user(s)${created}`, changes, warnings };
  },
};
export default task;
