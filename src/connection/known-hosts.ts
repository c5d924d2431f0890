// Host-key checking against an OpenSSH known_hosts file, the way `StrictHostKeyChecking=yes` does it.
// Keys are compared as raw blobs, so no key parsing is needed: the file's base64 field is the blob.
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
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

/** Every key recorded for the token (markers such as @revoked/@cert-authority are skipped). */
export function keysFor(text: string, token: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, type, blob] = line.split(/\s+/);
    if (hosts && type && blob && lineMatches(hosts, token)) keys.push({ type, blob });
  }
  return keys;
}

export function verdict(text: string, tokens: string[], presented: Buffer): KeyVerdict {
  const blob = presented.toString('base64');
  const known = tokens.flatMap((t) => keysFor(text, t));
  if (known.length === 0) return { status: 'unknown' };
  if (known.some((k) => k.blob === blob)) return { status: 'match' };
  const type = presented.subarray(4, 4 + presented.readUInt32BE(0)).toString();
  // OpenSSH only calls a key "changed" when a key of the same type is recorded; another type counts as unknown.
  const sameType = known.filter((k) => k.type === type);
  return sameType.length ? { status: 'changed', known: sameType } : { status: 'unknown' };
}

export async function readKnownHosts(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
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
