// /etc/fstab lines for cifs over RDMA. Lines are generated in code, not from a template: the
// work is escaping and parsing fields, which a template would only hide.
// We own whole lines, identified by their mount point (field 2): no marker comment, because
// fstab(5) has no trailing comments and an "x-" marker option would be handed to mount.cifs.
// Every other line is kept byte for byte.
import type { SmbMount } from './model.js';
import { normalizePath } from './text.js';

/** Options the kernel never shows in /proc/mounts: ignored when comparing a live mount. */
const USERSPACE_ONLY = /^(credentials=|cred=|_netdev$|nofail$|noauto$|auto$|user$|nouser$|users$|defaults$|x-|comment=)/;

/** fstab/getmntent escaping: space, tab, newline and backslash as 3-digit octal (\040 ...). */
export function fstabEscape(field: string): string {
  return field.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

export function fstabUnescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** "//10.0.0.1/data": the address as given (IPv6 without brackets, as mount.cifs expects). */
export function mountSource(address: string, share: string): string {
  if (address === '' || /[\s/\\,]/.test(address)) throw new Error(`bad server address ${JSON.stringify(address)} for a cifs source`);
  return `//${address}/${share}`;
}

/** Every option we write, in order: vers, rdma, credentials, _netdev, nofail, seal, then the user's. */
export function managedOptions(mount: SmbMount, credentialsPath: string): string[] {
  if (!credentialsPath.startsWith('/') || /[\s,]/.test(credentialsPath)) throw new Error(`bad credentials path ${JSON.stringify(credentialsPath)}: absolute, no blanks or commas`);
  return [`vers=${mount.vers}`, 'rdma', `credentials=${credentialsPath}`, '_netdev', 'nofail', ...(mount.seal ? ['seal'] : []), ...mount.options];
}

/** `//ADDR/SHARE MNT cifs vers=3.1.1,rdma,credentials=FILE,_netdev,nofail[,...] 0 0` (no newline). */
export function fstabLine(mount: SmbMount, serverAddress: string, credentialsPath: string): string {
  const fields = [mountSource(serverAddress, mount.share), mount.path, 'cifs', managedOptions(mount, credentialsPath).join(',')];
  return `${fields.map(fstabEscape).join(' ')} 0 0`;
}

export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

/** One fstab or /proc/mounts line, unescaped; undefined for blanks, comments and short lines. */
export function parseMountLine(line: string): MountEntry | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const [source, target, fstype, options] = t.split(/[ \t]+/);
  if (target === undefined) return undefined;
  return { source: fstabUnescape(source!), target: normalizePath(fstabUnescape(target)), fstype: fstype ?? '', options: options === undefined ? [] : fstabUnescape(options).split(',') };
}

/** "3" accepts any 3.x dialect the kernel negotiated; aliases compare equal. */
function versMatches(want: string, have: string | undefined): boolean {
  const canon = (v: string) => ({ '3.0.2': '3.02', '3.11': '3.1.1' })[v] ?? v;
  if (have === undefined) return false;
  return want === '3' ? have.startsWith('3') : canon(want) === canon(have);
}

/**
 * Is `existingLine` (from /proc/mounts or fstab) the mount `wanted` describes? Compares source
 * (case-insensitively, "\" = "/"), mount point, type (cifs/smb3) and the managed options the
 * kernel shows (vers, rdma, seal and the user's options); options the kernel adds (addr=,
 * uid=, cache=, ...) and userspace-only ones (credentials=, _netdev, nofail, x-...) are ignored.
 */
export function fstabEntryMatches(existingLine: string, wanted: string | MountEntry): boolean {
  const have = parseMountLine(existingLine);
  const want = typeof wanted === 'string' ? parseMountLine(wanted) : wanted;
  if (!have || !want) return false;
  const src = (s: string) => s.replace(/\\/g, '/').toLowerCase();
  if (src(have.source) !== src(want.source) || have.target !== normalizePath(want.target)) return false;
  if (!['cifs', 'smb3'].includes(have.fstype)) return false;
  const haveVers = have.options.find((o) => o.startsWith('vers='))?.slice(5);
  const kernelVisible = want.options.filter((o) => !USERSPACE_ONLY.test(o));
  const ok = kernelVisible.every((o) => (o.startsWith('vers=') ? versMatches(o.slice(5), haveVers) : have.options.includes(o)));
  return ok && (want.options.includes('seal') || !have.options.includes('seal'));
}

/**
 * Replaces the lines whose mount point is in `managedMountPoints` or among `wantedLines` with
 * the wanted line (first occurrence; later duplicates are dropped, as are managed mount points
 * no longer wanted), appends wanted lines not yet present, keeps all else byte-identical.
 * Returns `current` itself when nothing changes, so merging twice gives the same text.
 */
export function mergeFstab(current: string, wantedLines: string[], managedMountPoints: Iterable<string> = []): string {
  const wanted = new Map<string, string>();
  for (const line of wantedLines) {
    const e = parseMountLine(line);
    if (!e) throw new Error(`not an fstab line: ${JSON.stringify(line)}`);
    wanted.set(e.target, line);
  }
  const managed = new Set([...managedMountPoints].map(normalizePath));
  const lines = current === '' ? [] : current.replace(/\n$/, '').split('\n');
  const done = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const target = parseMountLine(line)?.target;
    if (target === undefined || (!managed.has(target) && !wanted.has(target))) {
      out.push(line);
      continue;
    }
    if (wanted.has(target) && !done.has(target)) out.push(wanted.get(target)!);
    done.add(target);
  }
  for (const [target, line] of wanted) if (!done.has(target)) out.push(line);
  const next = out.length ? `${out.join('\n')}\n` : '';
  const same = out.length === lines.length && out.every((l, i) => l === lines[i]);
  return same ? current : next;
}

/** Removes our lines for these mount points (teardown); everything else stays byte-identical. */
export function removeFromFstab(current: string, mountPoints: Iterable<string>): string {
  return mergeFstab(current, [], mountPoints);
}
