// Rebuilds the three modules SMB Direct needs and Debian's kernel lacks (domain-notes §1):
// cifs with CONFIG_CIFS_SMB_DIRECT, ksmbd with CONFIG_SMB_SERVER_SMBDIRECT, and siw
// (CONFIG_RDMA_SIW, soft iWARP). rdma_rxe is not rebuilt: Debian ships it (CONFIG_RDMA_RXE=m),
// and ib_core / rdma_cm / cifs_arc4 / cifs_md4, which these depend on, are stock modules too.
//
// Built out of tree from Debian's linux-source-X.Y against linux-headers-RELEASE of the *same*
// package version: Module.symvers from those headers gives matching symbol CRCs, so the stock
// kernel loads the result (unsigned: it taints the kernel, and Secure Boot lockdown refuses it).
// Once per release, cached; built in a temp dir renamed into place only when complete.

import { $ } from 'zx';
import { existsSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { follow, noLog, since, step, type Log } from '../progress.js';
import { CACHE_ROOT, rebase } from '../paths.js';
import { DEBIAN_RELEASE } from './remedy.js';
import { aptInstall, ensurePrerequisites } from '../prereqs.js';
import { killChildrenOnInterrupt } from '../interrupt.js';

export type ModuleName = 'cifs' | 'ksmbd' | 'siw';
export interface BuiltModules { dir: string; modules: Record<ModuleName, string>; patches: string[] }

/** Per module: its directory in the kernel tree and the options it is built with. Each option is
 * passed twice: CONFIG_X=y for kbuild's Makefiles (which objects to build) and -DCONFIG_X=1 for
 * the C code (#ifdef / IS_ENABLED), since the headers' autoconf.h says these are unset. */
const MODULES: Record<ModuleName, { path: string; make: string[]; defines: string[]; mustDepend?: string }> = {
  cifs: { path: 'fs/smb/client', make: ['CONFIG_CIFS=m', 'CONFIG_CIFS_SMB_DIRECT=y'], defines: ['CONFIG_CIFS_SMB_DIRECT'], mustDepend: 'rdma_cm' },
  ksmbd: { path: 'fs/smb/server', make: ['CONFIG_SMB_SERVER=m', 'CONFIG_SMB_SERVER_SMBDIRECT=y'], defines: ['CONFIG_SMB_SERVER_SMBDIRECT'], mustDepend: 'rdma_cm' },
  siw: { path: 'drivers/infiniband/sw/siw', make: ['CONFIG_RDMA_SIW=m'], defines: [] },
};
/** What is extracted from the 150 MB source tarball: the module trees plus what they include
 * from outside them (ksmbd: fs/internal.h; 6.12's cifs: fs/nls/*.h) and the asn1 compiler with
 * its two kernel headers (only those: a whole include/linux would shadow the libc's linux/types.h
 * when compiling it for the host). */
const EXTRACT = [
  'fs/smb', 'fs/internal.h', 'fs/nls', 'drivers/infiniband/sw/siw',
  'scripts/asn1_compiler.c', 'include/linux/asn1.h', 'include/linux/asn1_ber_bytecode.h',
];

const sh = $({ quiet: true, verbose: false });

export async function buildSmbDirectModules(opts: { release: string; cacheDir?: string; log?: Log }): Promise<BuiltModules> {
  const { release } = opts;
  const log = opts.log ?? noLog;
  if (!DEBIAN_RELEASE.test(release)) throw new Error(`not a Debian kernel release: ${release}`);
  const dir = opts.cacheDir ?? join(CACHE_ROOT, 'modules', release);
  const cached = await readCached(dir);
  if (cached) return log(`modules ${release}: cached at ${dir}`), cached;
  const t0 = Date.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  // Ctrl-C / SIGTERM (#16): the build's processes are killed, so it fails here and the catch
  // removes the temp dir; a second signal exits at once and removes it on the way out.
  const built = await killChildrenOnInterrupt(buildIn(tmp, dir, release, log), () => rmSync(tmp, { recursive: true, force: true })).catch(async (err: unknown) => {
    await rm(tmp, { recursive: true, force: true }); // a failed build leaves nothing behind
    throw err;
  });
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  log(`modules ${release}: all built in ${since(t0)}, cached at ${dir}`);
  return built;
}

async function buildIn(tmp: string, dir: string, release: string, log: Log): Promise<BuiltModules> {
  const { tarball, top } = await installSources(release, log);
  await step(log, `modules ${release}: extract sources`, () =>
    sh`tar -xJf ${tarball} -C ${tmp} --strip-components=1 ${EXTRACT.map((p) => `${top}/${p}`)}`);
  const objtree = await privateObjtree(release, tmp);
  const patches = await applyPatches(tmp, log);
  for (const name of Object.keys(MODULES) as ModuleName[]) await make(name, tmp, objtree, release, log);
  return collect(tmp, dir, patches, release);
}

async function readCached(dir: string): Promise<BuiltModules | undefined> {
  if (!existsSync(join(dir, 'manifest.json'))) return undefined;
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as BuiltModules;
  const here = (p: string): string => rebase(p, m.dir, dir);
  const modules = Object.fromEntries(Object.entries(m.modules).map(([k, ko]) => [k, here(ko)])) as Record<ModuleName, string>;
  const built: BuiltModules = { dir, modules, patches: m.patches.map(here) };
  return Object.values(modules).every((ko) => existsSync(ko)) ? built : undefined;
}

/** Headers for exactly RELEASE, and linux-source at exactly the headers' package version (a
 * different source version would build modules whose structs disagree with the running kernel). */
async function installSources(release: string, log: Log): Promise<{ tarball: string; top: string }> {
  const series = /^(\d+\.\d+)/.exec(release)?.[1] ?? '';
  await ensurePrerequisites(['module-build'], log);
  await aptInstall([`linux-headers-${release}`], `modules ${release}: headers`, log);
  const version = (await sh`dpkg-query -W -f=${'${Version}'} ${`linux-headers-${release}`}`).stdout.trim();
  await aptInstall([`linux-source-${series}=${version}`], `modules ${release}: kernel source ${version}`, log);
  return { tarball: `/usr/src/linux-source-${series}.tar.xz`, top: `linux-source-${series}` };
}

/** A copy of the headers' object tree that we may write to. linux-kbuild lacks
 * scripts/asn1_compiler (cifs and ksmbd compile .asn1 files with it), and adding it under /usr
 * would alter a package's files; so: copy the small per-release headers dir, make its
 * `scripts` a real copy of linux-kbuild's, add the compiler, and point `tools` (objtool) back at
 * the package with an absolute link (the package's link is relative and breaks when copied). */
async function privateObjtree(release: string, tmp: string): Promise<string> {
  const headers = `/usr/src/linux-headers-${release}`;
  const objtree = join(tmp, 'objtree');
  await sh`cp -a ${headers} ${objtree}`;
  for (const link of ['scripts', 'tools']) await rm(join(objtree, link), { force: true, recursive: true });
  await sh`cp -a --dereference ${join(headers, 'scripts')} ${join(objtree, 'scripts')}`;
  await symlink(await sh`readlink -f ${join(headers, 'tools')}`.then((p) => p.stdout.trim()), join(objtree, 'tools'));
  await sh`gcc -O2 -I${join(tmp, 'include')} -o ${join(objtree, 'scripts/asn1_compiler')} ${join(tmp, 'scripts/asn1_compiler.c')}`;
  return objtree;
}

/** Applies src/kernel/patches/*.patch in order. A patch the tree already contains (a newer
 * Debian release with the fix) is skipped; one that neither applies nor is present fails. */
async function applyPatches(tree: string, log: Log): Promise<string[]> {
  const dir = patchDir();
  const applied: string[] = [];
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.patch')).sort()) {
    const file = join(dir, name);
    if ((await sh`patch -d ${tree} -p1 --forward --dry-run -s -i ${file}`.nothrow()).exitCode === 0) {
      await sh`patch -d ${tree} -p1 --forward -s -i ${file}`;
      applied.push(file);
      log(`modules: applied ${name}`);
    } else if ((await sh`patch -d ${tree} -p1 -R --dry-run -s -i ${file}`.nothrow()).exitCode === 0) {
      log(`modules: ${name} already in this source, skipped`);
    } else {
      throw new Error(`patch ${name} does not apply to this kernel source; refresh it`);
    }
  }
  return applied;
}

/** tsc does not copy .patch files into dist/, so look beside this file, then in the source tree. */
function patchDir(): string {
  const candidates = ['./patches/', '../../../src/kernel/patches/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`kernel patches not found in ${candidates.join(' or ')}`);
  return found;
}

async function make(name: ModuleName, tree: string, objtree: string, release: string, log: Log): Promise<void> {
  const m = MODULES[name];
  const kcflags = `KCFLAGS=${m.defines.map((d) => `-D${d}=1`).join(' ')}`;
  const args = [`-j${availableParallelism()}`, '-C', objtree, `M=${join(tree, m.path)}`, ...m.make, kcflags, 'modules'];
  const out = await step(log, `modules ${release}: make ${name} (${m.make.join(' ')})`, (note) =>
    follow(sh`make ${args}`.nothrow(), note));
  await writeFile(join(tree, `make-${name}.log`), out.stdout + out.stderr);
  if (out.exitCode !== 0) throw new Error(`building ${name} failed:\n${(out.stdout + out.stderr).split('\n').slice(-25).join('\n')}`);
}

/** Copies the .ko files up, checks they are for RELEASE and really have RDMA compiled in (a cifs
 * built without SMB Direct would not depend on rdma_cm), and writes the manifest. */
async function collect(tmp: string, dir: string, patches: string[], release: string): Promise<BuiltModules> {
  const modules = {} as Record<ModuleName, string>;
  for (const [name, m] of Object.entries(MODULES) as Array<[ModuleName, (typeof MODULES)[ModuleName]]>) {
    const ko = join(tmp, `${name}.ko`);
    await copyFile(join(tmp, m.path, `${name}.ko`), ko);
    await sh`strip --strip-debug ${ko}`; // the headers build with DEBUG_INFO: cifs.ko is 28 MB unstripped, ~1.5 MB stripped (as Debian ships it)
    const vermagic = (await sh`modinfo -F vermagic ${ko}`).stdout.trim();
    if (!vermagic.startsWith(`${release} `)) throw new Error(`${name}.ko has vermagic "${vermagic}", expected ${release}`);
    const depends = (await sh`modinfo -F depends ${ko}`).stdout.trim().split(',');
    if (m.mustDepend && !depends.includes(m.mustDepend)) throw new Error(`${name}.ko does not depend on ${m.mustDepend}: RDMA support was not compiled in`);
    modules[name] = join(dir, `${name}.ko`);
  }
  await mkdir(join(tmp, 'patches'), { recursive: true });
  const kept = [];
  for (const p of patches) {
    const base = p.split('/').pop() ?? p;
    await copyFile(p, join(tmp, 'patches', base));
    kept.push(join(dir, 'patches', base));
  }
  for (const sub of ['objtree', 'fs', 'drivers', 'scripts', 'include']) await rm(join(tmp, sub), { recursive: true, force: true });
  const built: BuiltModules = { dir, modules, patches: kept };
  await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify({ ...built, release }, null, 2)}\n`);
  return built;
}
