// The cifs credentials file (mount.cifs credentials=FILE). How mount.cifs reads it
// (piastry/cifs-utils @25ba696, mount.cifs.c open_cred_file/parse_cred_line/set_password):
// - one fgets() line at a time (4096 bytes); leading blanks of the line are skipped;
// - the key is matched by prefix, case-insensitively ("user", "pass", "dom"); the value is
//   everything after the FIRST "=" up to the newline: "=" inside the value is fine, nothing is
//   trimmed (leading/trailing blanks are part of the value), there is no quoting or escaping;
// - the password's commas are doubled for the kernel's option string, so "," is fine there,
//   but the username and domain are copied into "user=...,domain=..." unescaped, so a comma in
//   them would inject mount options.
// Hence: no newline or NUL anywhere, no "," in username or domain. Keep the file 0600 root.
import { passwordProblem } from './passwords.js';
import { userNameProblem } from './users.js';

export const CREDENTIALS_DIR = '/etc/smbdirect-provision/credentials';

export function credentialsFile(user: string, password: string, domain?: string): string {
  const why = userNameProblem(user) ?? passwordProblem(password) ?? (domain === undefined ? undefined : domainProblem(domain));
  if (why) throw new Error(`credentials file for ${JSON.stringify(user)}: ${why}`);
  const lines = [`username=${user}`, `password=${password}`];
  if (domain !== undefined) lines.push(`domain=${domain}`);
  return `${lines.join('\n')}\n`;
}

export function domainProblem(domain: string): string | undefined {
  if (domain === '' || /[\u0000-\u001f\u007f,]/.test(domain)) return 'a domain cannot be empty or contain "," or control characters';
  return undefined;
}

/**
 * Where the credentials for (server, user) live on a client: one file per pair, so two mounts
 * with the same user share it. Bytes outside [A-Za-z0-9._-] are written %XX, so the path never
 * holds a "," (which would split the mount options) or a blank.
 */
export function credentialsPath(server: string, user: string): string {
  const enc = (s: string) => Array.from(Buffer.from(s, 'utf8'), (b) => (/[A-Za-z0-9._-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  return `${CREDENTIALS_DIR}/${enc(server)}@${enc(user)}`;
}
