// Host-key checking against an OpenSSH known_hosts file, the way `StrictHostKeyChecking=yes` does it.
// Keys are compared as raw blobs, so no key parsing is needed: the file's base64 field is the blob.
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { wildcardMatch } from './ssh-config.js';

export interface KnownKey { type: string; blob: string }
export type KeyVerdict = { status: 'match' } | { status: 'unknown' } | { status: 'changed'; known: KnownKey[] };

/** The names a host appears under in known_hosts: `addr` on port 22, `[addr]:port` otherwise. */
export function hostToken(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function hashedMatches(pattern: string, token: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64') === hash;
}

function lineMatches(hosts: string, token: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, token);
  const patterns = hosts.split(',');
  if (patterns.some((p) => p.startsWith('!') && wildcardMatch(token, p.slice(1)))) return false;
  return patterns.some((p) => !p.startsWith('!') && wildcardMatch(token, p));
}

/**
 * A known_hosts file, indexed once: the keys of lines that name plain hosts, by name; the other lines
 * (hashed names, wildcards, negations) are kept to be scanned. Every connection of a run shares one
 * (readKnownHosts): a copy of the file per connection was 86 KB each at 500 hosts, 43 MB in all, and
 * a scan of every line per connection grew with the square of the host count (#14).
 */
export interface KnownHosts {
  byName: Map<string, KnownKey[]>;
  scanned: Array<KnownKey & { hosts: string }>;
}

export function parseKnownHosts(text: string): KnownHosts {
  const known: KnownHosts = { byName: new Map(), scanned: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    // Markers such as @revoked and @cert-authority are skipped.
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, type, blob] = line.split(/\s+/);
    if (!hosts || !type || !blob) continue;
    if (hosts.startsWith('|') || /[*?!]/.test(hosts)) {
      known.scanned.push({ hosts, type, blob });
      continue;
    }
    for (const name of hosts.split(',')) {
      if (!name) continue;
      const keys = known.byName.get(name);
      if (keys) keys.push({ type, blob });
      else known.byName.set(name, [{ type, blob }]);
    }
  }
  return known;
}

/** Every key recorded for the token. */
export function keysFor(known: KnownHosts, token: string): KnownKey[] {
  return [...(known.byName.get(token) ?? []), ...known.scanned.filter((l) => lineMatches(l.hosts, token)).map(({ type, blob }) => ({ type, blob }))];
}

export function verdict(known: string | KnownHosts | readonly KnownHosts[], tokens: string[], presented: Buffer): KeyVerdict {
  const files = typeof known === 'string' ? [parseKnownHosts(known)] : Array.isArray(known) ? known : [known as KnownHosts];
  const blob = presented.toString('base64');
  const found = tokens.flatMap((t) => files.flatMap((f) => keysFor(f, t)));
  if (found.length === 0) return { status: 'unknown' };
  if (found.some((k) => k.blob === blob)) return { status: 'match' };
  const type = presented.subarray(4, 4 + presented.readUInt32BE(0)).toString();
  // OpenSSH only calls a key "changed" when a key of the same type is recorded; another type counts as unknown.
  const sameType = found.filter((k) => k.type === type);
  return sameType.length ? { status: 'changed', known: sameType } : { status: 'unknown' };
}

const EMPTY: KnownHosts = { byName: new Map(), scanned: [] };
/** Each file's index, with what it was made from (inode, size, mtime): a file that changed is read again. */
const indexes = new Map<string, { stamp: string; known: Promise<KnownHosts> }>();

export async function readKnownHosts(path: string): Promise<KnownHosts> {
  let stamp: string;
  try {
    const st = await stat(path);
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
    throw e;
  }
  const hit = indexes.get(path);
  if (hit?.stamp === stamp) return hit.known;
  const entry = { stamp, known: readFile(path, 'utf8').then(parseKnownHosts) };
  indexes.set(path, entry);
  entry.known.catch(() => indexes.get(path) === entry && indexes.delete(path));
  return entry.known;
}

/** Records an accepted key (only ever for an unknown host, never over a changed one). */
export async function recordKey(path: string, token: string, presented: Buffer): Promise<void> {
  const type = presented.subarray(4, 4 + presented.readUInt32BE(0)).toString();
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, `${token} ${type} ${presented.toString('base64')}\n`, { mode: 0o600 });
}

/** OpenSSH's fingerprint: unpadded base64 of SHA-256 over the key blob. */
export function fingerprint(presented: Buffer): string {
  return `SHA256:${createHash('sha256').update(presented).digest('base64').replace(/=+$/, '')}`;
}
