// The lab's login user as real clusters have them: not root, logs in with the controller's key or
// its password, and sudo asks for that password (labuser, by contrast, may sudo without one).
// The password is random per lab, kept in a 0600 file in the state dir (tests and users read it
// from there), and only its SHA-512 crypt hash enters the hosts. The user is written into each
// host's overlay by plain file edits (no process per host): lab start-up stays cheap.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { run } from './util.js';
import { userIds } from './rootfs.js';

export const LAB_SUDO_USER = 'labsudo';
export const sudoPasswordFile = (stateDir: string): string => path.join(stateDir, `${LAB_SUDO_USER}-password`);

// Password logins for this user only: the base image's drop-in says no for everyone else.
const SSHD_MATCH = `# smbdirect-provision lab: ${LAB_SUDO_USER} may log in with its password (tests of ansible_password)
Match User ${LAB_SUDO_USER}
    PasswordAuthentication yes
`;

export interface SudoUser { password: string; hash: string }

/**
 * A new random password (with a quote, a space and a dollar, so quoting mistakes show), its file,
 * and its hash (openssl reads the password on stdin, never in argv).
 */
export async function makeSudoUser(stateDir: string): Promise<SudoUser> {
  const password = `sd-${randomBytes(9).toString('base64url')} '"$x`;
  await fs.writeFile(sudoPasswordFile(stateDir), `${password}\n`, { mode: 0o600 });
  const hash = (await run('openssl', ['passwd', '-6', '-stdin'], `${password}\n`)).trim();
  return { password, hash };
}

/** Adds the user to a host's root (passwd, group, shadow, home, sudoers, sshd); `key`: the controller's public key. */
export async function addSudoUser(root: string, u: SudoUser, key: string): Promise<void> {
  const p = (rel: string): string => path.join(root, rel);
  const passwd = await fs.readFile(p('etc/passwd'), 'utf8');
  if (passwd.split('\n').some((l) => l.startsWith(`${LAB_SUDO_USER}:`))) return;
  const taken = new Set(passwd.split('\n').map((l) => Number(l.split(':')[2])));
  let id = 1000;
  while (taken.has(id)) id++;
  const home = `/home/${LAB_SUDO_USER}`;
  await fs.appendFile(p('etc/passwd'), `${LAB_SUDO_USER}:x:${id}:${id}::${home}:/bin/bash\n`);
  await fs.appendFile(p('etc/group'), `${LAB_SUDO_USER}:x:${id}:\n`);
  await fs.appendFile(p('etc/shadow'), `${LAB_SUDO_USER}:${u.hash}:19000:0:99999:7:::\n`);
  await fs.mkdir(p(`${home}/.ssh`), { recursive: true, mode: 0o700 });
  await fs.writeFile(p(`${home}/.ssh/authorized_keys`), `${key}\n`, { mode: 0o600 });
  for (const d of [home, `${home}/.ssh`, `${home}/.ssh/authorized_keys`]) await fs.chown(p(d), id, id);
  await fs.writeFile(p(`etc/sudoers.d/${LAB_SUDO_USER}`), `${LAB_SUDO_USER} ALL=(ALL) ALL\n`, { mode: 0o440 });
  await fs.writeFile(p('etc/ssh/sshd_config.d/90-smbdirect-lab-password.conf'), SSHD_MATCH);
  // the uid is looked up as the rest of the lab looks users up, so a clash would show at once
  if ((await userIds(root, LAB_SUDO_USER)).uid !== id) throw new Error(`${LAB_SUDO_USER}: uid ${id} not recorded in ${root}/etc/passwd`);
}
