// Where the project's own folders are, whether run from dist/ (built) or from src/ (tests).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'playbooks'))) return dir;
  }
  throw new Error(`cannot find the smbdirect-provision package root above ${from}`);
}

export const ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));
export const PLAYBOOKS_DIR = join(ROOT, 'playbooks');
export const TEMPLATES_DIR = join(ROOT, 'templates');
export const TASKS_DIST_DIR = join(ROOT, 'dist', 'tasks');

/**
 * The controller's caches (lab images, debs, rebuilt kernel modules), outside the repository so
 * a clean clone reuses them. SMBDIRECT_CACHE_DIR moves them (e.g. to measure a cold run).
 */
export const CACHE_ROOT = process.env.SMBDIRECT_CACHE_DIR || '/var/cache/smbdirect-provision';

/** Whole output of the long local steps (debootstrap, apt, module builds, VM boots), which a
 * failure message names. SMBDIRECT_LOG_DIR moves it. */
export const logDir = (): string => process.env.SMBDIRECT_LOG_DIR || '/var/log/smbdirect-provision';

/** A path recorded in a cache manifest under FROM, as it is now that the entry lives in TO: a
 * cache may be moved or copied (SMBDIRECT_CACHE_DIR), and its manifests keep absolute paths. */
export function rebase(path: string, from: string | undefined, to: string): string {
  return from && path.startsWith(`${from}/`) ? join(to, path.slice(from.length + 1)) : path;
}
