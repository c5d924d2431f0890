// The kernel options a host's running kernel was built with, kept on the controller between runs:
// they cannot change before the host reboots, so the host sends them once per boot (and per
// source: a config appearing in /boot is read again). Best effort: a cache that cannot be read or
// written only costs the host one grep. Under CACHE_ROOT/facts, one small JSON file per host.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_ROOT } from '../paths.js';
import type { KconfigRead } from '../types.js';

const DIR = join(CACHE_ROOT, 'facts');
const fileOf = (host: string): string => join(DIR, `${encodeURIComponent(host)}.kconfig.json`);

export function loadKconfigRead(host: string): KconfigRead | undefined {
  try {
    const v = JSON.parse(readFileSync(fileOf(host), 'utf8')) as Partial<KconfigRead>;
    return typeof v.bootId === 'string' && typeof v.source === 'string' && typeof v.text === 'string' ? { bootId: v.bootId, source: v.source, text: v.text } : undefined;
  } catch {
    return undefined;
  }
}

export function saveKconfigRead(host: string, read: KconfigRead): void {
  try {
    mkdirSync(DIR, { recursive: true });
    const tmp = `${fileOf(host)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(read));
    renameSync(tmp, fileOf(host));
  } catch {
    // Not writable (another user's cache dir): the next run reads the config again.
  }
}
