// /etc/ksmbd/ksmbdpwd.db, written by us instead of `ksmbd.adduser -p PWD` (which would put the
// password in a process's argv). smbdirect-provision owns the file: users not in ksmbd_users are
// removed. Format checked against ksmbd-tools (namjaejeon/ksmbd-tools @4d7d6c5):
// - adduser/user_admin.c process_password(): UTF-8 -> UTF-16LE, MD4, base64_encode (padded);
//   get_conf_contents() writes "%s:%s\n" (name, base64) per user.
// - tools/config_parser.c is_a_user_password(): name up to the first ":", checked by
//   usm_user_name(); then only [A-Za-z0-9+/] followed by "=" padding.
// - ksmbdpwd.db.5: name [1, 48) bytes of UTF-8, password [0, 129) bytes.
// The content holds NT hashes, which are password-equivalent: write it 0600 and mark it sensitive.
import { ntHash } from './md4.js';
import { passwordProblem } from './passwords.js';
import { userNameProblem } from './users.js';

export interface UserWithPassword {
  name: string;
  password: string;
}

/** One "name:base64(nthash)" line per user, in the order given. Throws on an invalid entry (never showing the password). */
export function usersDb(users: UserWithPassword[]): string {
  const seen = new Set<string>();
  const lines = users.map(({ name, password }) => {
    const why = userNameProblem(name) ?? (seen.has(name) ? 'listed twice' : undefined) ?? passwordProblem(password);
    if (why) throw new Error(`ksmbdpwd.db: user ${JSON.stringify(name)}: ${why}`);
    seen.add(name);
    return `${name}:${ntHash(password).toString('base64')}`;
  });
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The user names in an existing ksmbdpwd.db (to say which unmanaged users a rewrite removes). */
export function usersDbNames(content: string): string[] {
  return content.split('\n').flatMap((line) => {
    const i = line.indexOf(':');
    return i > 0 ? [line.slice(0, i)] : [];
  });
}
