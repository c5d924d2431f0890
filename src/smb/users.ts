// ksmbd_users: names and where each password comes from on the controller. A password is never
// accepted inline: vars end up in inventories, diffs, logs and version control.
import type { KsmbdUser } from './model.js';
import { didYouMean, type Problems } from './problems.js';
import { CONTROL, isRecord, kindOf, utf8Bytes } from './text.js';

const FIELDS = ['name', 'password_file', 'password_env'];
const PASSWORD_KEYS = ['password', 'pass', 'passwd', 'smb_password'];

/**
 * ksmbd-tools (tools/management/user.c, usm_user_name) takes 1-47 bytes of printable UTF-8
 * without ":". We also refuse what breaks elsewhere: "," (mount.cifs copies the credentials
 * file's username into its option string unescaped), blanks, ";" and "#" (ksmbd.conf user
 * lists split at blanks and commas, and ";"/"#" start comments), and a leading "@" (a group).
 * And more than 32 bytes: the server play creates the system user of the same name (ksmbd maps
 * SMB users to it) and useradd refuses longer names (found by test/safety-input.test.ts).
 */
export function userNameProblem(name: string): string | undefined {
  if (name === '' || utf8Bytes(name) > 47) return 'a ksmbd user name is 1-47 bytes of UTF-8';
  if (utf8Bytes(name) > 32) return `a ksmbd user name is also a system user name (ksmbd maps each SMB user to the system user of the same name, which the server play creates), and useradd refuses names over 32 bytes; this one is ${utf8Bytes(name)}`;
  if (name.includes(':')) return 'a ksmbd user name cannot contain ":" (it separates name and hash in ksmbdpwd.db)';
  if (CONTROL.test(name)) return 'a ksmbd user name cannot contain control characters (newline, tab, ...)';
  if (/[\s,;#]/.test(name)) return 'a ksmbd user name cannot contain blanks, ",", ";" or "#" (they break ksmbd.conf user lists and the cifs credentials file)';
  if (name.startsWith('@')) return 'a name starting with "@" means a system group in ksmbd.conf';
  return undefined;
}

export function validateUsers(raw: unknown, p: Problems, path = 'ksmbd_users'): KsmbdUser[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    p.error(path, raw, `must be a list of users, found ${kindOf(raw)}`, 'write ksmbd_users: [{ name: alice, password_file: secrets/alice.pw }]');
    return [];
  }
  const seen = new Set<string>();
  const out: KsmbdUser[] = [];
  raw.forEach((item, i) => {
    const user = validateUser(item, p, `${path}[${i}]`);
    const name = isRecord(item) ? item.name : undefined;
    if (typeof name === 'string' && seen.has(name)) p.error(`${path}[${i}].name`, name, 'this user is listed twice', 'keep one entry per user');
    if (typeof name === 'string') seen.add(name);
    if (user) out.push(user);
  });
  return out;
}

function validateUser(item: unknown, p: Problems, at: string): KsmbdUser | undefined {
  if (!isRecord(item)) {
    p.error(at, item, `a user must be a mapping, found ${kindOf(item)}`, 'write { name: alice, password_file: secrets/alice.pw }');
    return undefined;
  }
  const before = p.errors.length;
  for (const k of Object.keys(item)) {
    if (PASSWORD_KEYS.includes(k)) {
      p.secret(`${at}.${k}`, 'passwords are never accepted in vars: they would be stored in the inventory and could show up in diffs and logs', 'put the password in a file on the controller (chmod 600) and set password_file: PATH, or export it and set password_env: VARNAME');
    } else if (!FIELDS.includes(k)) {
      p.error(`${at}.${k}`, item[k], 'unknown user field', `${didYouMean(k, FIELDS)}the fields are: ${FIELDS.join(', ')}`);
    }
  }
  const { name, password_file: file, password_env: env } = item;
  const why = typeof name === 'string' ? userNameProblem(name) : name === undefined ? '"name" is required' : `must be a string, found ${kindOf(name)}`;
  if (why) p.error(`${at}.name`, name, why, 'choose another user name');
  if ((file === undefined) === (env === undefined)) {
    p.error(at, undefined, file === undefined ? 'no password source' : 'both password_file and password_env are set', 'set exactly one of password_file (a file on the controller) or password_env (an environment variable on the controller)');
  }
  if (file !== undefined && (typeof file !== 'string' || file === '' || /[\u0000\n]/.test(file))) {
    p.error(`${at}.password_file`, file, 'must be the path of a file on the controller', 'give an absolute path, a path relative to the inventory, or ~/...');
  }
  if (env !== undefined && (typeof env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env))) {
    p.error(`${at}.password_env`, env, 'must be an environment variable name (letters, digits, "_")', 'give the name of the variable, not its value');
  }
  if (p.errors.length !== before) return undefined;
  return { name: name as string, ...(file !== undefined ? { passwordFile: file as string } : { passwordEnv: env as string }) };
}
