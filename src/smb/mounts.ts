// smb_mounts: cifs mounts over RDMA on a client. Server, share and user are checked against what
// the caller knows of the servers (group smb_servers); options we manage cannot be overridden.
import type { ServerInfo, SmbMount } from './model.js';
import { didYouMean, type Problems } from './problems.js';
import { shareNameProblem } from './shares.js';
import { BOOL_FIX, CONTROL, absPathProblem, casefold, isRecord, kindOf, normalizePath, yesNo } from './text.js';
import { userNameProblem } from './users.js';

const FIELDS = ['server', 'share', 'path', 'user', 'vers', 'options', 'seal'];
/** cifs dialects usable with rdma (the kernel also knows 1.0, 2.0, 2.1 and "default"). */
export const RDMA_VERSIONS = ['3', '3.0', '3.02', '3.0.2', '3.1.1', '3.11'];
export const DEFAULT_VERS = '3.1.1';
/** Options smbdirect-provision sets itself (aliases from mount.cifs.c parse_opt_token), and why. */
const MANAGED: Array<[string[], string]> = [
  [['user=', 'username='], 'the user comes from smb_mounts[].user through the credentials file'],
  [['pass=', 'password=', 'pass2=', 'password2='], 'passwords live only in the credentials file'],
  [['cred=', 'credentials='], 'smbdirect-provision writes and names the credentials file'],
  [['dom=', 'domain=', 'workgroup='], 'the domain belongs in the credentials file'],
  [['unc=', 'target=', 'path=', 'ip=', 'addr='], 'the server address and share come from the inventory and smb_mounts[].server/share'],
  [['vers='], 'use smb_mounts[].vers'],
  [['rdma'], 'rdma is always set'],
  [['seal'], 'use smb_mounts[].seal: true'],
  [['guest'], 'a guest mount has no credentials; smbdirect-provision always mounts as smb_mounts[].user'],
];
const managedWhy = (key: string): string | undefined => MANAGED.find(([keys]) => keys.includes(key))?.[1];
const ALWAYS = ['_netdev', 'nofail'];

export function validateMounts(raw: unknown, servers: Record<string, ServerInfo>, p: Problems, path = 'smb_mounts'): SmbMount[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    p.error(path, raw, `must be a list of mounts, found ${kindOf(raw)}`, 'write smb_mounts: [{ server: srv1, share: data, path: /mnt/data, user: alice }]');
    return [];
  }
  const seen = new Map<string, string>();
  const out: SmbMount[] = [];
  raw.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const m = validateMount(item, servers, p, at);
    if (!m) return;
    const first = seen.get(m.path);
    if (first !== undefined) p.error(`${at}.path`, m.path, `same mount point as ${first}`, 'give each mount its own directory');
    else seen.set(m.path, at);
    out.push(m);
  });
  return out;
}

function validateMount(item: unknown, servers: Record<string, ServerInfo>, p: Problems, at: string): SmbMount | undefined {
  if (!isRecord(item)) {
    p.error(at, item, `a mount must be a mapping, found ${kindOf(item)}`, 'write { server: srv1, share: data, path: /mnt/data, user: alice }');
    return undefined;
  }
  const before = p.errors.length;
  for (const k of Object.keys(item)) {
    if (!FIELDS.includes(k)) p.error(`${at}.${k}`, item[k], 'unknown mount field', `${didYouMean(k, FIELDS)}the fields are: ${FIELDS.join(', ')}`);
  }
  const str = (k: string): string | undefined => {
    const v = item[k];
    if (typeof v === 'string' && v !== '') return v;
    p.error(`${at}.${k}`, v, v === undefined ? `"${k}" is required` : `must be a non-empty string, found ${kindOf(v)}`, `set ${k}`);
    return undefined;
  };
  const server = str('server');
  const info = server === undefined ? undefined : servers[server];
  if (server !== undefined && !info) {
    const names = Object.keys(servers);
    p.error(`${at}.server`, server, 'not a host of group smb_servers', `${didYouMean(server, names)}${names.length ? `known servers: ${names.join(', ')}` : 'add the server to group smb_servers in the inventory'}`);
  }
  const share = checked(str('share'), shareNameProblem, `${at}.share`, p);
  if (share !== undefined && info?.shares && !info.shares.some((s) => casefold(s) === casefold(share))) {
    p.error(`${at}.share`, share, `server ${server} has no such share in ksmbd_shares`, `${didYouMean(share, info.shares)}shares there: ${info.shares.join(', ') || 'none'}`);
  }
  const user = checked(str('user'), userNameProblem, `${at}.user`, p);
  if (user !== undefined && info?.users && !info.users.includes(user)) {
    p.error(`${at}.user`, user, `not a user in ksmbd_users of server ${server}`, `${didYouMean(user, info.users)}add it there or pick one of: ${info.users.join(', ') || 'none'}`);
  }
  const mnt = checked(str('path'), (s) => absPathProblem(s) ?? (normalizePath(s) === '/' ? 'cannot mount over "/"' : undefined), `${at}.path`, p);
  const vers = checkVers(item.vers, p, `${at}.vers`);
  const options = checkOptions(item.options, p, `${at}.options`);
  const seal = item.seal === undefined ? false : yesNo(item.seal);
  if (seal === undefined) p.error(`${at}.seal`, item.seal, '"seal" is a boolean', BOOL_FIX);
  if (seal === 'yes') p.warn(`${at}.seal`, true, 'seal disables RDMA read/write offload: most of SMB Direct\'s gain is lost', 'leave seal off unless the RDMA network is untrusted');
  if (p.errors.length !== before) return undefined;
  return { server: server!, share: share!, path: normalizePath(mnt!), user: user!, vers: vers!, options, seal: seal === 'yes' };
}

function checked(v: string | undefined, check: (s: string) => string | undefined, at: string, p: Problems): string | undefined {
  const why = v === undefined ? undefined : check(v);
  if (why) p.error(at, v, why, 'fix the value');
  return why ? undefined : v;
}

function checkVers(v: unknown, p: Problems, at: string): string | undefined {
  if (v === undefined || v === null) return DEFAULT_VERS;
  if (v === 3) {
    p.error(at, v, 'ambiguous once YAML has read it: 3 and 3.0 both arrive as the number 3 ("3" means 3.0 or later, "3.0" exactly 3.0)', 'quote it: "3.1.1", "3.0" or "3"');
    return undefined;
  }
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s === 'string' && RDMA_VERSIONS.includes(s)) return s;
  if (typeof s === 'string' && ['1', '1.0', '2', '2.0', '2.1', 'default'].includes(s)) {
    p.error(at, v, 'SMB Direct requires Version >=3.0 (the kernel refuses rdma with an older dialect)', 'use "3.1.1" (the default), "3.02", "3.0" or "3"');
  } else {
    p.error(at, v, `not a cifs dialect usable with rdma (${RDMA_VERSIONS.join(', ')})`, `${typeof s === 'string' ? didYouMean(s, RDMA_VERSIONS) : ''}use "3.1.1" (the default)`);
  }
  return undefined;
}

function checkOptions(v: unknown, p: Problems, at: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.error(at, v, `must be a list of cifs options, one per entry, found ${kindOf(v)}`, 'write e.g. options: [cache=none, "max_channels=4"]');
    return [];
  }
  const out: string[] = [];
  v.forEach((o, i) => {
    const here = `${at}[${i}]`;
    if (typeof o !== 'string' || o === '') return p.error(here, o, 'an option must be a non-empty string', 'write e.g. cache=none');
    if (/(^|,)\s*pass/i.test(o)) return p.secret(here, 'passwords are never accepted in mount options: they would be stored in the inventory and fstab', 'remove it: the password comes from ksmbd_users (password_file/password_env) through the credentials file');
    if (o.includes(',')) return p.error(here, o, 'one option per entry: a "," would let one entry smuggle in more options (and credentials)', 'split it into several list entries');
    if (/\s/.test(o) || CONTROL.test(o)) return p.error(here, o, 'an option cannot contain blanks or control characters', 'remove them');
    const key = o.includes('=') ? `${o.split('=')[0]!.toLowerCase()}=` : o.toLowerCase();
    const why = managedWhy(key);
    if (why !== undefined) return p.error(here, o, `"${key}" is managed by smbdirect-provision: ${why}`, 'remove it from options');
    if (!ALWAYS.includes(o) && !out.includes(o)) out.push(o);
  });
  return out;
}
