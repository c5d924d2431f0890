// Rebuilds the modules SMB Direct needs and Debian's kernels lack (domain-notes §1, §8): cifs with
// CONFIG_CIFS_SMB_DIRECT, ksmbd with CONFIG_SMB_SERVER_SMBDIRECT, siw (CONFIG_RDMA_SIW, soft
// iWARP) and, from 7.1 on, smbdirect.ko (CONFIG_SMBDIRECT: the RDMA code cifs and ksmbd share,
// fs/smb/smbdirect). rdma_rxe is not rebuilt: Debian ships it (CONFIG_RDMA_RXE=m), and ib_core /
// rdma_cm / cifs_arc4 / cifs_md4, which these depend on, are stock modules too.
//
// Built out of tree from Debian's linux-source-X.Y against linux-headers-RELEASE of the *same*
// package version: Module.symvers from those headers gives matching symbol CRCs, so the stock
// kernel loads the result (unsigned: it taints the kernel, and Secure Boot lockdown refuses it).
// Built inside a build root of the kernel's own Debian release (build-root.ts), with its gcc.
// Once per kernel release, cached; built in a temp dir renamed into place only when complete.

import { $ } from 'zx';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { follow, noLog, since, step, type Log } from '../progress.js';
import { CACHE_ROOT, rebase } from '../paths.js';
import { DEBIAN_RELEASE } from './remedy.js';
import { aptInRoot, codenameOfKernel, ensureBuildRoot, inRoot, isCodename, versionInRoot, type Codename } from './build-root.js';
import { killChildrenOnInterrupt } from '../interrupt.js';
import { publishDir } from '../publish-dir.js';

export type ModuleName = 'cifs' | 'ksmbd' | 'siw' | 'smbdirect';
export interface BuiltModules { dir: string; modules: Partial<Record<ModuleName, string>>; patches: string[] }

interface ModuleRecipe { path: string; make: string[]; defines: string[]; mustDepend?: string; extraSymbols?: ModuleName }
/** Per module: its directory in the kernel tree and the options it is built with. Each option is
 * passed twice: CONFIG_X=y for kbuild's Makefiles (which objects to build) and -DCONFIG_X=1 for
 * the C code (#ifdef / IS_ENABLED), since the headers' autoconf.h says these are unset. Before
 * 7.1 the RDMA code is inside cifs and ksmbd (they depend on rdma_cm); from 7.1 it is smbdirect.ko,
 * built first, whose Module.symvers the other two link against (they depend on smbdirect). */
function recipes(split: boolean): Array<[ModuleName, ModuleRecipe]> {
  const rdma = split
    ? { make: ['CONFIG_SMBDIRECT=m'], defines: ['CONFIG_SMBDIRECT_MODULE'], mustDepend: 'smbdirect', extraSymbols: 'smbdirect' as const }
    : { make: [], defines: [], mustDepend: 'rdma_cm' };
  const list: Array<[ModuleName, ModuleRecipe]> = [
    ['cifs', { path: 'fs/smb/client', make: ['CONFIG_CIFS=m', 'CONFIG_CIFS_SMB_DIRECT=y', ...rdma.make], defines: ['CONFIG_CIFS_SMB_DIRECT', ...rdma.defines], mustDepend: rdma.mustDepend, extraSymbols: rdma.extraSymbols }],
    ['ksmbd', { path: 'fs/smb/server', make: ['CONFIG_SMB_SERVER=m', 'CONFIG_SMB_SERVER_SMBDIRECT=y', ...rdma.make], defines: ['CONFIG_SMB_SERVER_SMBDIRECT', ...rdma.defines], mustDepend: rdma.mustDepend, extraSymbols: rdma.extraSymbols }],
    ['siw', { path: 'drivers/infiniband/sw/siw', make: ['CONFIG_RDMA_SIW=m'], defines: ['CONFIG_RDMA_SIW_MODULE'] }],
  ];
  return split ? [['smbdirect', { path: 'fs/smb/smbdirect', make: ['CONFIG_SMBDIRECT=m'], defines: ['CONFIG_SMBDIRECT_MODULE'], mustDepend: 'rdma_cm' }], ...list] : list;
}
/** What is extracted from the 150 MB source tarball: the module trees plus what they include
 * from outside them (ksmbd: fs/internal.h; 6.12's cifs: fs/nls/*.h) and the asn1 compiler with
 * its two kernel headers (only those: a whole include/linux would shadow the libc's linux/types.h
 * when compiling it for the host). fs/smb holds fs/smb/smbdirect on 7.1+. */
const EXTRACT = [
  'fs/smb', 'fs/internal.h', 'fs/nls', 'drivers/infiniband/sw/siw',
  'scripts/asn1_compiler.c', 'include/linux/asn1.h', 'include/linux/asn1_ber_bytecode.h',
];

const sh = $({ quiet: true, verbose: false });

export async function buildSmbDirectModules(opts: { release: string; codename?: string; cacheDir?: string; log?: Log }): Promise<BuiltModules> {
  const { release } = opts;
  const log = opts.log ?? noLog;
  if (!DEBIAN_RELEASE.test(release)) throw new Error(`not a Debian kernel release: ${release}`);
  const dir = opts.cacheDir ?? join(CACHE_ROOT, 'modules', release);
  const series = /^(\d+\.\d+)/.exec(release)?.[1] ?? '';
  const patches = await patchSetOf(series);
  const cached = await readCached(dir, patches);
  if (cached) return log(`modules ${release}: cached at ${dir}`), cached;
  const codename = isCodename(opts.codename) ? opts.codename : codenameOfKernel(release);
  if (!codename) throw new Error(`cannot tell which Debian release built kernel ${release}: its host's /etc/os-release names none of bookworm, trixie, forky`);
  const t0 = Date.now();
  const root = await ensureBuildRoot(codename, { log });
  const work = `/build/${release}-${process.pid}`; // inside the build root
  const tmp = `${dir}.tmp-${process.pid}`;
  const cleanup = (): void => {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(join(root, work), { recursive: true, force: true });
  };
  cleanup();
  await mkdir(tmp, { recursive: true });
  await mkdir(join(root, work), { recursive: true });
  // Ctrl-C / SIGTERM (#16): the build's processes are killed, so it fails here and the catch
  // removes the temp dirs; a second signal exits at once and removes them on the way out.
  const built = await killChildrenOnInterrupt(buildIn({ root, work, tmp, dir, release, codename, log }), cleanup).catch((err: unknown) => {
    cleanup(); // a failed build leaves nothing behind
    throw err;
  });
  await rm(join(root, work), { recursive: true, force: true });
  if (!(await publishDir(tmp, dir, async (d) => (await readCached(d, patches)) !== undefined))) {
    log(`modules ${release}: built by another process meanwhile, that build used (${dir})`);
    return (await readCached(dir, patches))!;
  }
  log(`modules ${release}: all built in ${since(t0)} (${codename} build root), cached at ${dir}`);
  return built;
}

interface Build { root: string; work: string; tmp: string; dir: string; release: string; codename: Codename; log: Log }

async function buildIn(b: Build): Promise<BuiltModules> {
  const { root, work, release, log } = b;
  const series = /^(\d+\.\d+)/.exec(release)?.[1] ?? '';
  await step(log, `modules ${release}: headers and kernel source in the ${b.codename} build root`, async (note) => {
    await aptInRoot(root, b.codename, [`linux-headers-${release}`], note);
    const version = await versionInRoot(root, `linux-headers-${release}`);
    await aptInRoot(root, b.codename, [`linux-source-${series}=${version}`], note);
  });
  const top = `linux-source-${series}`;
  await step(log, `modules ${release}: extract sources`, () =>
    inRoot(root, 'f=$1; d=$2; shift 2; tar -xJf "$f" -C "$d" --strip-components=1 "$@"', `/usr/src/${top}.tar.xz`, work,
      ...EXTRACT.map((p) => `${top}/${p}`)).then(() => undefined));
  const objtree = await privateObjtree(root, release, work);
  const patches = await applyPatches(root, work, series, log);
  const split = existsSync(join(root, work, 'fs/smb/smbdirect/Makefile'));
  const list = recipes(split);
  for (const [name, m] of list) await make(b, name, m, objtree);
  return collect(b, list, patches);
}

async function readCached(dir: string, patchSet: string): Promise<BuiltModules | undefined> {
  if (!existsSync(join(dir, 'manifest.json'))) return undefined;
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as BuiltModules & { codename?: string; gcc?: { kernel?: string }; patchSet?: string };
  if (!m.codename || !m.gcc?.kernel) return undefined; // built before build roots and the compiler check: build again
  if ((m.patchSet ?? '') !== patchSet) return undefined; // the series' patches changed since: build again
  const here = (p: string): string => rebase(p, m.dir, dir);
  const modules = Object.fromEntries(Object.entries(m.modules).map(([k, ko]) => [k, here(ko)])) as Partial<Record<ModuleName, string>>;
  const built: BuiltModules = { dir, modules, patches: m.patches.map(here) };
  return Object.values(modules).every((ko) => existsSync(ko)) ? built : undefined;
}

/** A copy of the headers' object tree that we may write to. linux-kbuild lacks
 * scripts/asn1_compiler (cifs and ksmbd compile .asn1 files with it), and adding it under /usr
 * would alter a package's files; so: copy the small per-release headers dir, make its
 * `scripts` a real copy of linux-kbuild's, add the compiler, and point `tools` (objtool) back at
 * the package with an absolute link (the package's link is relative and breaks when copied). */
async function privateObjtree(root: string, release: string, work: string): Promise<string> {
  const objtree = `${work}/objtree`;
  await inRoot(root, [
    'h=/usr/src/linux-headers-$1; o=$2/objtree; set -e',
    'cp -a "$h" "$o"; rm -rf "$o/scripts" "$o/tools"',
    'cp -a --dereference "$h/scripts" "$o/scripts"',
    'ln -s "$(readlink -f "$h/tools")" "$o/tools"',
    'gcc -O2 -I"$2/include" -o "$o/scripts/asn1_compiler" "$2/scripts/asn1_compiler.c"',
  ].join('\n'), release, work);
  return objtree;
}

/** Applies src/kernel/patches/SERIES/*.patch in order: patches are per kernel series (6.1's are
 * not tried on 6.12). A patch the tree already contains (a newer Debian release with the fix) is
 * skipped; one that neither applies nor is present fails. */
async function applyPatches(root: string, work: string, series: string, log: Log): Promise<string[]> {
  const dir = join(patchDir(), series);
  if (!existsSync(dir)) return [];
  const applied: string[] = [];
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.patch')).sort()) {
    const file = join(dir, name);
    const inside = `${work}/${name}`;
    await copyFile(file, join(root, inside));
    const patch = (...flags: string[]) => inRoot(root, 'd=$1; shift; patch -d "$d" -p1 "$@"', work, ...flags, '-s', '-i', inside).nothrow();
    if ((await patch('--forward', '--dry-run')).exitCode === 0) {
      await patch('--forward');
      applied.push(file);
      log(`modules: applied ${series}/${name}`);
    } else if ((await patch('-R', '--dry-run')).exitCode === 0) {
      log(`modules: ${series}/${name} already in this source, skipped`);
    } else {
      throw new Error(`patch ${series}/${name} does not apply to this kernel source; refresh it`);
    }
  }
  return applied;
}

/** The patches of a kernel series, as one hash of their names and contents ('' when it has none):
 * recorded in the manifest, so a build made before a patch was added is not reused. */
export async function patchSetOf(series: string): Promise<string> {
  const dir = join(patchDir(), series);
  if (!existsSync(dir)) return '';
  const names = (await readdir(dir)).filter((f) => f.endsWith('.patch')).sort();
  if (names.length === 0) return '';
  const h = createHash('sha256');
  for (const name of names) h.update(`${name}\0`).update(await readFile(join(dir, name))).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** tsc does not copy .patch files into dist/, so look beside this file, then in the source tree. */
function patchDir(): string {
  const candidates = ['./patches/', '../../../src/kernel/patches/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`kernel patches not found in ${candidates.join(' or ')}`);
  return found;
}

async function make(b: Build, name: ModuleName, m: ModuleRecipe, objtree: string): Promise<void> {
  // The .asn1 parsers (cifs, ksmbd) are generated here with our asn1_compiler rather than by
  // kbuild: from 6.13 an M= build runs in the module's directory, where kbuild's rule no longer
  // finds $(objtree)/scripts/asn1_compiler ("No rule to make target ...asn1.c" on 7.3); files
  // that exist need no rule, on every kernel.
  await inRoot(b.root, 'c=$1/scripts/asn1_compiler; for f in "$2"/*.asn1; do [ -e "$f" ] || continue; "$c" "$f" "$f.c" "$f.h" || exit 1; done',
    objtree, `${b.work}/${m.path}`);
  const kcflags = `KCFLAGS=${m.defines.map((d) => `-D${d}=1`).join(' ')}`;
  const extra = m.extraSymbols ? [`KBUILD_EXTRA_SYMBOLS=${b.work}/fs/smb/smbdirect/Module.symvers`] : [];
  // MO= (6.13+; ignored before): the output goes to the module's own directory. Without it, a
  // 7.x kbuild run from a copied object tree writes the objects, the .ko and Module.symvers into
  // that object tree (its CURDIR), overwriting the kernel's Module.symvers.
  const dirs = [`M=${b.work}/${m.path}`, `MO=${b.work}/${m.path}`];
  const args = [`-j${availableParallelism()}`, '-C', objtree, ...dirs, ...m.make, ...extra, kcflags, 'modules'];
  const out = await step(b.log, `modules ${b.release}: make ${name} (${m.make.join(' ')})`, (note) =>
    follow(inRoot(b.root, 'make "$@"', ...args).nothrow(), note));
  await writeFile(join(b.tmp, `make-${name}.log`), out.stdout + out.stderr);
  if (out.exitCode !== 0) throw new Error(`building ${name} failed (${b.codename} build root ${b.root}):\n${(out.stdout + out.stderr).split('\n').slice(-25).join('\n')}`);
}

/** Copies the .ko files out, checks they are for RELEASE and really have RDMA compiled in (a cifs
 * built without SMB Direct would depend on neither rdma_cm nor smbdirect), and writes the manifest. */
async function collect(b: Build, list: Array<[ModuleName, ModuleRecipe]>, patches: string[]): Promise<BuiltModules> {
  const modules: Partial<Record<ModuleName, string>> = {};
  for (const [name, m] of list) {
    const inside = `${b.work}/${name}.ko`;
    await inRoot(b.root, 'cp "$1" "$2" && strip --strip-debug "$2"', `${b.work}/${m.path}/${name}.ko`, inside); // the headers build with DEBUG_INFO: cifs.ko is 28 MB unstripped, ~1.5 MB stripped (as Debian ships it)
    const vermagic = (await inRoot(b.root, 'modinfo -F vermagic "$1"', inside)).stdout.trim();
    if (!vermagic.startsWith(`${b.release} `)) throw new Error(`${name}.ko has vermagic "${vermagic}", expected ${b.release}`);
    const depends = (await inRoot(b.root, 'modinfo -F depends "$1"', inside)).stdout.trim().split(',');
    if (m.mustDepend && !depends.includes(m.mustDepend)) throw new Error(`${name}.ko does not depend on ${m.mustDepend}: RDMA support was not compiled in`);
    await copyFile(join(b.root, inside), join(b.tmp, `${name}.ko`));
    modules[name] = join(b.dir, `${name}.ko`);
  }
  await mkdir(join(b.tmp, 'patches'), { recursive: true });
  const kept = [];
  for (const p of patches) {
    const base = p.split('/').pop() ?? p;
    await copyFile(p, join(b.tmp, 'patches', base));
    kept.push(join(b.dir, 'patches', base));
  }
  const built: BuiltModules = { dir: b.dir, modules, patches: kept };
  const gcc = await gccOf(b, join(b.tmp, `${list[0]![0]}.ko`));
  const patchSet = await patchSetOf(/^(\d+\.\d+)/.exec(b.release)?.[1] ?? '');
  await writeFile(join(b.tmp, 'manifest.json'), `${JSON.stringify({ ...built, release: b.release, codename: b.codename, gcc, patchSet }, null, 2)}\n`);
  return built;
}

/** The compiler the kernel was built with (its headers' CONFIG_CC_VERSION_TEXT) and the one that
 * built these modules (the "GCC: (Debian 14.2.0-19) 14.2.0" its .comment section records):
 * recorded in the manifest, and they must agree (#12: no release's modules from another's gcc). */
async function gccOf(b: Build, ko: string): Promise<{ kernel: string; modules: string }> {
  const config = await readFile(join(b.root, `usr/src/linux-headers-${b.release}/.config`), 'utf8').catch(() => '');
  const kernel = /^CONFIG_CC_VERSION_TEXT="([^"]*)"/m.exec(config)?.[1] ?? '';
  const modules = /GCC: (\([^)]*\) [\w.~+-]+)/.exec((await readFile(ko)).toString('latin1'))?.[1] ?? '';
  if (!kernel || !modules || !kernel.endsWith(modules)) {
    throw new Error(`modules ${b.release}: built by gcc "${modules || 'unknown'}", but the kernel by "${kernel || 'unknown'}" (the ${b.codename} build root ${b.root} should have the kernel's compiler)`);
  }
  return { kernel, modules };
}
