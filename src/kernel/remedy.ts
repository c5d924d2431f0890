// The build-modules remedy seen from a play: which of the missing kernel options a rebuilt module
// provides (cifs, ksmbd, siw: see build-modules.ts), where the controller's cache keeps them, and
// the build itself, which must happen BEFORE any play (ensureModulesBuilt): planning only looks
// the cache up, synchronously, so a failed build changes nothing on any host.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleName } from './build-modules.js';
import type { Log } from '../progress.js';
import type { Vars } from '../types.js';
import { CACHE_ROOT, rebase } from '../paths.js';

export type { ModuleName as RebuiltModule };
/** A Debian kernel release (6.1.0-26-amd64, 6.1.0-26-cloud-amd64, 6.12.12+bpo-amd64,
 * 6.12.38+deb13-amd64): what build-modules can rebuild for. Not RHEL's 5.14.0-503.14.1.el9_5.x86_64
 * nor Fedora's 6.11.4-301.fc41.x86_64 (the old pattern let those through to apt-get on the controller). */
export const DEBIAN_RELEASE = /^\d+\.\d+\.\d+(?:-\d+|\+[a-z0-9]+)(?:-[a-z0-9]+)+$/;
export const DEFAULT_MODULES_CACHE = join(CACHE_ROOT, 'modules');

/** Kernel options a rebuilt module provides. Anything else (INFINIBAND, rdma_cm...) needs a kernel. */
export const REBUILT_FOR: Readonly<Record<string, ModuleName>> = {
  SMB_SERVER: 'ksmbd', SMB_SERVER_SMBDIRECT: 'ksmbd', CIFS: 'cifs', CIFS_SMB_DIRECT: 'cifs', RDMA_SIW: 'siw',
  SMBDIRECT: 'smbdirect', // 7.1+: the RDMA code both use is its own module
};

/** smbdirect_modules_cache (a directory holding one directory per kernel release), else the default. */
export function modulesCacheRoot(vars: Vars = {}): string {
  const v = vars.smbdirect_modules_cache;
  return typeof v === 'string' && v !== '' ? v : DEFAULT_MODULES_CACHE;
}

export interface CachedModule { path: string; sha256: string; srcversion?: string }
export interface CachedModules { release: string; dir: string; modules: Partial<Record<ModuleName, CachedModule>>; patches: string[] }

const memo = new Map<string, { stamp: string; value: CachedModules }>();

/** The modules built for RELEASE in the cache, or undefined. Synchronous: plans call it. */
export function cachedModules(release: string, root: string = DEFAULT_MODULES_CACHE): CachedModules | undefined {
  const dir = join(root, release);
  const manifest = join(dir, 'manifest.json');
  if (!existsSync(manifest)) return undefined;
  const text = readFileSync(manifest, 'utf8');
  const hit = memo.get(dir);
  if (hit && hit.stamp === text) return hit.value;
  const m = JSON.parse(text) as { dir?: string; modules: Partial<Record<ModuleName, string>>; patches?: string[] };
  const modules: Partial<Record<ModuleName, CachedModule>> = {};
  for (const [name, recorded] of Object.entries(m.modules) as Array<[ModuleName, string]>) {
    const path = rebase(recorded, m.dir, dir);
    if (!existsSync(path)) return undefined;
    const bytes = readFileSync(path);
    modules[name] = { path, sha256: createHash('sha256').update(bytes).digest('hex'), srcversion: modinfoField(bytes, 'srcversion') };
  }
  const value: CachedModules = { release, dir, modules, patches: (m.patches ?? []).map((p) => rebase(p, m.dir, dir)) };
  memo.set(dir, { stamp: text, value });
  return value;
}

/** A field of a .ko's .modinfo section ("srcversion=ABC\0"), read from the bytes. */
function modinfoField(bytes: Buffer, field: string): string | undefined {
  const at = bytes.indexOf(Buffer.from(`\0${field}=`));
  if (at < 0) return undefined;
  const start = at + field.length + 2;
  const end = bytes.indexOf(0, start);
  return bytes.subarray(start, end < 0 ? undefined : end).toString('latin1');
}

/** What a build is for: a host's exact kernel release and, when known, its userland's Debian
 * codename (VERSION_CODENAME from /etc/os-release), which picks the build root (build-root.ts):
 * a trixie kernel is built by trixie's compiler, whatever the controller runs. */
export interface ModuleTarget { release: string; codename?: string }

/**
 * Builds (or finds cached) cifs/ksmbd/siw (and smbdirect on 7.1+) with SMB Direct for each kernel
 * release, on the controller. Call it before running a play under smbdirect_kernel_policy=build-modules,
 * with the hosts' `uname -r` (and codename); it throws on the first failed build (nothing on the hosts is touched then).
 */
export async function ensureModulesBuilt(targets: Array<string | ModuleTarget>, log?: Log, root: string = DEFAULT_MODULES_CACHE): Promise<CachedModules[]> {
  const out: CachedModules[] = [];
  const byRelease = new Map<string, ModuleTarget>();
  for (const t of targets) {
    const target = typeof t === 'string' ? { release: t } : t;
    const release = target.release.trim();
    if (!release) continue;
    const known = byRelease.get(release);
    byRelease.set(release, { release, codename: known?.codename ?? target.codename });
  }
  for (const { release, codename } of byRelease.values()) {
    if (!DEBIAN_RELEASE.test(release)) throw new Error(`cannot build modules for kernel ${release}: build-modules rebuilds Debian kernels only (RELEASE like 6.1.0-26-amd64)`);
    const { buildSmbDirectModules } = await import('./build-modules.js'); // zx and apt only when building
    await buildSmbDirectModules({ release, codename, cacheDir: join(root, release), log });
    const cached = cachedModules(release, root);
    if (!cached) throw new Error(`modules for ${release} were built, but ${join(root, release)}/manifest.json is incomplete`);
    out.push(cached);
  }
  return out;
}
