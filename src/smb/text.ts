// Small checks shared by the SMB validators. Each returns why a value is unusable, or undefined.

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Share-name comparison key. ksmbd-tools compares share names after g_utf8_normalize(NFD) and
 * g_utf8_casefold (tools/management/share.c, shm_casefold_share_name); JavaScript has no
 * casefold, and upper- then lower-casing gets closest (ß -> SS -> ss, like full case folding).
 */
export function casefold(s: string): string {
  return s.normalize('NFD').toUpperCase().toLowerCase();
}

/** C0 control characters (tab included) and DEL. */
export const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why `s` cannot be written as a ksmbd.conf value, if it cannot. ksmbd-tools' parser
 * (tools/config_parser.c, is_a_key_value) ends a value at the first ';' or '#', refuses control
 * characters other than tab, strips leading blanks, keeps trailing ones and ignores empty values.
 */
export function confValueProblem(s: string): string | undefined {
  if (s === '') return 'an empty value is ignored by ksmbd (it means "use the default")';
  if (/[\r\n]/.test(s)) return 'a newline would end the line in ksmbd.conf';
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)) return 'ksmbd.conf refuses control characters in values';
  if (/[;#]/.test(s)) return `ksmbd.conf has no quoting: "${/[;#]/.exec(s)![0]}" starts a comment and the rest of the value would be dropped`;
  if (/^[ \t]|[ \t]$/.test(s)) return 'ksmbd strips leading blanks and keeps trailing ones, so the value would not be read as written';
  return undefined;
}

/** Why `p` is not a usable absolute path, if it is not. */
export function absPathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'the path must be absolute (start with "/")';
  if (/[\u0000\r\n]/.test(p)) return 'a path cannot contain a newline or NUL byte here';
  if (p.split('/').includes('..')) return 'the path must not contain ".." components';
  return undefined;
}

/** Strips trailing slashes ("/mnt/a/" -> "/mnt/a"), keeping "/" itself. */
export function normalizePath(p: string): string {
  const s = p.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return s === '' ? '/' : s;
}

/**
 * Linux interface names (net/core/dev.c, dev_valid_name): 1-15 bytes, not "." or "..", no "/",
 * ":" or whitespace.
 */
export function netdevNameProblem(name: string): string | undefined {
  if (name === '' || utf8Bytes(name) > 15) return 'an interface name is 1-15 bytes';
  if (name === '.' || name === '..') return 'an interface name cannot be "." or ".."';
  if (/[/:\s]/.test(name) || CONTROL.test(name)) return 'an interface name cannot contain "/", ":", blanks or control characters';
  return undefined;
}

/** YAML booleans and the strings yes/no/true/false become "yes"/"no"; anything else undefined. */
export function yesNo(v: unknown): 'yes' | 'no' | undefined {
  if (v === true) return 'yes';
  if (v === false) return 'no';
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'yes' || s === 'true') return 'yes';
  if (s === 'no' || s === 'false') return 'no';
  return undefined;
}

/** Why a boolean-ish value is refused: ksmbd reads a value as true only by prefix yes/1/true/enable. */
export const BOOL_FIX = 'use true/false or "yes"/"no" (ksmbd reads any value not starting with yes, 1, true or enable as "no", so "on" would silently mean no)';

/** "0755" / "755" -> "0755". Numbers are refused: YAML may have read 0755 as 493 or as 755. */
export function octalMode(v: unknown): { mode?: string; problem?: string } {
  if (typeof v === 'number') return { problem: 'a mode written as a bare number is ambiguous once YAML has read it (0755 may arrive as 493 or 755)' };
  if (typeof v !== 'string' || !/^[0-7]{3,4}$/.test(v)) return { problem: 'a mode is 3 or 4 octal digits such as "0755"' };
  return { mode: v.padStart(4, '0') };
}

/** A system user or group name, or a numeric id (owner/group of a share directory, force user). */
export function systemNameProblem(v: string): string | undefined {
  if (/^\d+$/.test(v)) return undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(v) || v.length > 32) return 'a system user or group name is up to 32 characters: letters, digits, "_", "-", "." (or a numeric id)';
  return undefined;
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Type name for messages: "a list", "a mapping", "a number", ... */
export function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}
