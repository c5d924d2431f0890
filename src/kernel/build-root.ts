// A build root per Debian release: a minimal debootstrap of that release in which its own
// kernel modules are built, so a trixie kernel is built by trixie's gcc and a bookworm kernel by
// bookworm's, whatever release the controller runs (#12: a Debian 12 controller remedies Debian 13
// hosts and the reverse). Module BTF and the vermagic's compiler string must match the kernel's,
// and the headers package pins the exact compiler (linux-compiler-gcc-N-x86), so a foreign gcc
// is not an option.
//
// Made once per release and recipe, cached like the VM images; the per-kernel packages
// (linux-headers-RELEASE, linux-source-X.Y) are installed into it by the build itself.
// Everything that runs inside it goes through inRoot(): a private mount namespace gives the
// chroot its /proc, and the mount vanishes with the process, even on Ctrl-C.

import { $, type ProcessPromise } from 'zx';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { follow, noLog, since, step, type Log, type Note } from '../progress.js';
import { CACHE_ROOT } from '../paths.js';
import { ensurePrerequisites } from '../prereqs.js';
import { publishDir } from '../publish-dir.js';

export const MIRROR = 'http://deb.debian.org/debian';
const SECURITY = 'http://deb.debian.org/debian-security';
/** Bump when the recipe below changes, so a build root made the old way is not reused. */
const RECIPE = 1;
/** What an out-of-tree module build runs (the headers add their compiler and linux-kbuild). */
const PACKAGES = ['make', 'gcc', 'libc6-dev', 'xz-utils', 'patch', 'binutils', 'kmod', 'dwarves', 'ca-certificates'];

/** The Debian releases a build root can be made for (debootstrap has scripts and keys for them). */
export const BUILD_RELEASES = ['bookworm', 'trixie', 'forky'] as const;
export type Codename = (typeof BUILD_RELEASES)[number];

export const isCodename = (s: string | undefined): s is Codename => (BUILD_RELEASES as readonly string[]).includes(s ?? '');

/**
 * The release whose userland built this kernel, read from the kernel release string alone, for
 * when the host's /etc/os-release was not read: `+debNN` names it (6.12.57+deb13-amd64 and the
 * trixie-backports 7.3.4+deb13-amd64 are trixie's); `6.1.0-26-amd64` is bookworm's ABI naming;
 * `+bpo` kernels are bookworm-backports (built for bookworm).
 */
export function codenameOfKernel(release: string): Codename | undefined {
  const deb = /\+deb(\d+)/.exec(release)?.[1];
  if (deb) return ({ 12: 'bookworm', 13: 'trixie', 14: 'forky' } as Record<string, Codename>)[deb];
  if (/^6\.1\.0-\d+-/.test(release) || /\+bpo-/.test(release)) return 'bookworm';
  return undefined;
}

const sh = $({ quiet: true, verbose: false });

/** Where CODENAME's build root lives under the cache (its name carries the recipe's hash). */
export function buildRootDir(codename: Codename, cache: string = CACHE_ROOT): string {
  const key = createHash('sha256').update(JSON.stringify({ RECIPE, PACKAGES, codename })).digest('hex').slice(0, 10);
  return join(cache, 'buildroots', `${codename}-${key}`);
}

/** The cached build root for CODENAME, made if absent. Returns its directory (the chroot's /). */
export async function ensureBuildRoot(codename: Codename, opts: { cacheDir?: string; log?: Log } = {}): Promise<string> {
  const log = opts.log ?? noLog;
  const cache = opts.cacheDir ?? CACHE_ROOT;
  const dir = buildRootDir(codename, cache);
  if (existsSync(join(dir, '.complete'))) return dir;
  await ensurePrerequisites(['module-build'], log);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const t0 = Date.now();
  try {
    await mkdir(join(cache, 'debs'), { recursive: true });
    await step(log, `build root ${codename}: debootstrap`, (note) =>
      follow(debootstrap(codename, tmp, join(cache, 'debs'), PACKAGES), note));
    await writeFile(join(tmp, 'etc/apt/sources.list'), '');
    await writeFile(join(tmp, 'etc/apt/sources.list.d/debian.sources'), debianSources(codename));
    await writeFile(join(tmp, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    await mkdir(join(tmp, 'build'), { recursive: true });
    await writeFile(join(tmp, '.complete'), `${codename} ${new Date().toISOString()}\n`);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  // complete build roots only ever appear under the final name; one another build made meanwhile stays
  const ours = await publishDir(tmp, dir, (d) => existsSync(join(d, '.complete')));
  log(`build root ${codename}: ${ours ? 'ready' : 'built by another process meanwhile, that one used'} in ${since(t0)} at ${dir}`);
  return dir;
}

/** A minbase debootstrap of CODENAME into DIR with PACKAGES, its .debs kept in DEBS. In a private
 * mount namespace: debootstrap mounts /proc and /sys inside DIR while it works, and an interrupted
 * one would leave them mounted there. */
export function debootstrap(codename: Codename, dir: string, debs: string, packages: readonly string[]): ProcessPromise {
  return sh`unshare --mount --propagation private debootstrap --variant=minbase --cache-dir=${debs} --include=${packages.join(',')} ${codename} ${dir} ${MIRROR}`;
}

/** Runs `script` with sh inside ROOT (args as $1...), with /proc mounted in a private mount
 * namespace so nothing stays mounted on the controller when it ends or is killed. */
export function inRoot(root: string, script: string, ...args: string[]): ProcessPromise {
  const wrapper = 'root=$1; shift; mount -t proc proc "$root/proc" && exec chroot "$root" /bin/sh -c "$@"';
  return sh`unshare --mount --propagation private sh -c ${wrapper} sh ${root} ${script} sh ${args}`;
}

/** apt-get install inside the build root: the lists are refreshed first when older than a day
 * (a kernel ABI bump makes yesterday's headers vanish from the archive), and once more on failure.
 * A package that only the backports suite has is taken from there. */
export async function aptInRoot(root: string, codename: Codename, pkgs: string[], note: Note): Promise<void> {
  const install = (suite?: string): ProcessPromise => inRoot(root,
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"', ...(suite ? ['-t', suite] : []), ...pkgs).nothrow();
  await refreshLists(root, note);
  let r = await follow(install(), note);
  if (r.exitCode !== 0) r = await follow(install(`${codename}-backports`), note);
  if (r.exitCode !== 0) {
    await follow(inRoot(root, 'apt-get update -q'), note);
    r = await follow(install(), note);
    if (r.exitCode !== 0) r = await follow(install(`${codename}-backports`), note);
  }
  if (r.exitCode !== 0) {
    const said = (r.stdout + r.stderr).trim().split('\n').filter((l) => /^(E|W):/.test(l)).slice(-4).join('\n  ');
    throw new Error(`build root ${codename}: apt-get install ${pkgs.join(' ')} failed (exit ${r.exitCode}):\n  ${said}\n` +
      `  Debian keeps only the current kernel ABI's headers: if the host runs an older kernel, upgrade it and reboot.`);
  }
}

/** apt-get update inside ROOT when its lists are absent or older than a day. */
export async function refreshLists(root: string, note: Note = () => undefined): Promise<void> {
  if (await listsStale(root)) await follow(inRoot(root, 'apt-get update -q'), note);
}

async function listsStale(root: string): Promise<boolean> {
  const stamp = join(root, 'var/lib/apt/lists/lock');
  const lists = await sh`sh -c ${'ls "$1"/var/lib/apt/lists/*_InRelease 2>/dev/null | head -1'} sh ${root}`.nothrow();
  if (!existsSync(stamp) || lists.stdout.trim() === '') return true;
  const age = Date.now() - Number((await sh`stat -c %Y ${lists.stdout.trim()}`).stdout.trim()) * 1000;
  return age > 24 * 3600 * 1000;
}

/** The installed version of PKG inside ROOT. */
export async function versionInRoot(root: string, pkg: string): Promise<string> {
  return (await inRoot(root, 'dpkg-query -W -f="\\${Version}" "$1"', pkg)).stdout.trim();
}

/** deb822 sources for CODENAME: the release, -updates, -backports (forky has none) and -security.
 * Shared by the build roots and the VM lab's images. */
export function debianSources(codename: Codename): string {
  const keyring = 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg';
  return `Types: deb\nURIs: ${MIRROR}\nSuites: ${codename} ${codename}-updates${codename === 'forky' ? '' : ` ${codename}-backports`}\nComponents: main\n${keyring}\n\n` +
    `Types: deb\nURIs: ${SECURITY}\nSuites: ${codename}-security\nComponents: main\n${keyring}\n`;
}

