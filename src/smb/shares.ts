// ksmbd_shares: one ksmbd.conf section per share. Name rules follow ksmbd-tools
// (tools/management/share.c, shm_share_name: [1, 64) bytes of UTF-8, printable, no "[" or "]";
// case-insensitive after NFD + casefold) plus "/" and "\" (mount.cifs ends the share name there).
import type { KsmbdShare } from './model.js';
import { didYouMean, type Problems } from './problems.js';
import { BOOL_FIX, CONTROL, absPathProblem, casefold, confValueProblem, isRecord, kindOf, octalMode, systemNameProblem, utf8Bytes, yesNo } from './text.js';

const FIELDS = ['name', 'path', 'comment', 'read_only', 'browseable', 'guest_ok', 'valid_users', 'invalid_users', 'write_list', 'force_user', 'force_group', 'create_mask', 'directory_mask', 'veto_files', 'owner', 'group', 'mode'];
const RESERVED = ['global', 'ipc$'];

export function shareNameProblem(name: string): string | undefined {
  if (name === '' || utf8Bytes(name) > 63) return 'a share name is 1-63 bytes of UTF-8';
  if (CONTROL.test(name)) return 'a share name cannot contain control characters (newline, tab, ...)';
  if (/[[\]]/.test(name)) return 'a share name cannot contain "[" or "]": ksmbd.conf section headers are [NAME]';
  if (/[/\\]/.test(name)) return 'a share name cannot contain "/" or "\\": the client\'s //server/share path would end there';
  if (/^\s|\s$/.test(name)) return 'a share name cannot start or end with a blank';
  if (RESERVED.includes(casefold(name))) return `"${name}" is a section ksmbd reserves for itself`;
  return undefined;
}

/** Validates ksmbd_shares. `users`: names of ksmbd_users on this host (valid_users must be among them). */
export function validateShares(raw: unknown, users: string[], p: Problems, path = 'ksmbd_shares'): KsmbdShare[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    p.error(path, raw, `must be a list of shares, found ${kindOf(raw)}`, 'write ksmbd_shares: [{ name: data, path: /srv/data }]');
    return [];
  }
  const seen = new Map<string, string>();
  const out: KsmbdShare[] = [];
  raw.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const share = validateShare(item, users, p, at);
    const name = isRecord(item) ? item.name : undefined;
    if (typeof name === 'string') {
      const first = seen.get(casefold(name));
      if (first !== undefined) p.error(`${at}.name`, name, `same share as ${first} (share names are case-insensitive)`, 'give each share a distinct name');
      else seen.set(casefold(name), at);
    }
    if (share) out.push(share);
  });
  return out;
}

function validateShare(item: unknown, users: string[], p: Problems, at: string): KsmbdShare | undefined {
  if (!isRecord(item)) {
    p.error(at, item, `a share must be a mapping, found ${kindOf(item)}`, 'write { name: data, path: /srv/data }');
    return undefined;
  }
  const before = p.errors.length;
  for (const k of Object.keys(item)) {
    if (!FIELDS.includes(k)) p.error(`${at}.${k}`, item[k], 'unknown share field', `${didYouMean(k, FIELDS)}the fields are: ${FIELDS.join(', ')}`);
  }
  const str = (k: string, check: (s: string) => string | undefined, fix: string, required = false): string | undefined => {
    const v = item[k];
    if (v === undefined || v === null) {
      if (required) p.error(`${at}.${k}`, undefined, `"${k}" is required`, fix);
      return undefined;
    }
    const why = typeof v === 'string' ? check(v) : `must be a string, found ${kindOf(v)}`;
    if (why) p.error(`${at}.${k}`, v, why, fix);
    return why ? undefined : (v as string);
  };
  const bool = (k: string): boolean | undefined => {
    const v = item[k];
    if (v === undefined || v === null) return undefined;
    const yn = yesNo(v);
    if (yn === undefined) p.error(`${at}.${k}`, v, `"${k}" is a boolean`, BOOL_FIX);
    return yn === undefined ? undefined : yn === 'yes';
  };
  const mask = (k: string): string | undefined => {
    const v = item[k];
    if (v === undefined || v === null) return undefined;
    const r = octalMode(v);
    if (r.problem) p.error(`${at}.${k}`, v, r.problem, 'quote it as 4 octal digits: "0644"');
    return r.mode;
  };
  const sysName = (k: string) => str(k, systemNameProblem, 'give an existing system user or group');
  // owner/group may be a numeric id, and YAML reads an unquoted one (owner: 1000) as a number.
  const ownerOrId = (k: string) => {
    const v = item[k];
    return Number.isSafeInteger(v) && (v as number) >= 0 ? String(v) : sysName(k);
  };
  const share: KsmbdShare = {
    name: str('name', shareNameProblem, 'rename the share', true) ?? '',
    path: str('path', (s) => absPathProblem(s) ?? confValueProblem(s), 'give the absolute path of the shared directory', true) ?? '',
    comment: str('comment', confValueProblem, 'change the comment'),
    readOnly: bool('read_only') ?? false,
    browseable: bool('browseable'),
    guestOk: bool('guest_ok'),
    validUsers: userList(item.valid_users, users, true, p, `${at}.valid_users`),
    invalidUsers: userList(item.invalid_users, users, false, p, `${at}.invalid_users`),
    writeList: userList(item.write_list, users, true, p, `${at}.write_list`),
    forceUser: sysName('force_user'),
    forceGroup: sysName('force_group'),
    createMask: mask('create_mask'),
    directoryMask: mask('directory_mask'),
    vetoFiles: vetoFiles(item.veto_files, p, `${at}.veto_files`),
    owner: ownerOrId('owner'),
    group: ownerOrId('group'),
    mode: mask('mode'),
  };
  return p.errors.length === before ? stripUndefined(share) : undefined;
}

/** A list of ksmbd users or @groups. `mustExist`: plain names must be in ksmbd_users. */
function userList(v: unknown, users: string[], mustExist: boolean, p: Problems, at: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.error(at, v, `must be a list, found ${kindOf(v)}`, 'write e.g. [alice, "@staff"]');
    return [];
  }
  const out: string[] = [];
  v.forEach((u, i) => {
    const here = `${at}[${i}]`;
    if (typeof u !== 'string' || u === '') return p.error(here, u, 'an entry must be a user name or @group', 'write e.g. alice or "@staff"');
    const why = /[\s,]/.test(u) ? 'ksmbd splits these lists at blanks and commas' : confValueProblem(u);
    if (why) return p.error(here, u, why, 'fix the name');
    if (u.startsWith('@')) {
      const g = systemNameProblem(u.slice(1));
      return g ? p.error(here, u, g, 'give an existing system group after "@"') : void out.push(u);
    }
    if (mustExist && !users.includes(u)) {
      return p.error(here, u, 'not a user in ksmbd_users', `${didYouMean(u, users)}add it to ksmbd_users, or write @GROUP for a system group`);
    }
    out.push(u);
  });
  return out;
}

/** veto_files: a list of names (-> "/a/b/") or ksmbd's own "/a/b/" string. */
function vetoFiles(v: unknown, p: Problems, at: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const names = Array.isArray(v) ? v : typeof v === 'string' && /^\/.*\/$/.test(v) ? v.slice(1, -1).split('/') : undefined;
  if (!names || names.length === 0) {
    p.error(at, v, 'must be a list of file names (patterns with * and ?) or a "/name1/name2/" string', 'write e.g. veto_files: [".DS_Store", "*.tmp"]');
    return undefined;
  }
  const bad = names.find((n) => typeof n !== 'string' || n === '' || n.includes('/') || confValueProblem(n) !== undefined);
  if (bad !== undefined) {
    p.error(at, v, `bad entry ${JSON.stringify(bad)}: a name cannot be empty or contain "/", ";", "#" or control characters`, 'fix that entry');
    return undefined;
  }
  return `/${names.join('/')}/`;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
