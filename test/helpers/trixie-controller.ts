// A Debian 13 (trixie) controller on this Debian 12 machine, for #12's reverse direction: a trixie
// controller remedies Debian 12 hosts. It is a debootstrap of trixie with trixie's own nodejs; the
// project runs in it through chroot, so every program the run uses locally (node, apt-get,
// debootstrap, unshare, chroot) is trixie's, installed there by the project itself (only nodejs
// and ca-certificates come with the root), and its cache (build roots, modules) is its own
// /var/cache/smbdirect-provision, not this machine's. The project, /tmp and the test state
// directory are bind-mounted at the same paths, so inventories, keys and password files resolve
// as they do outside; everything is mounted in a private mount namespace and vanishes with the run.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CACHE_ROOT, ROOT } from '../../src/paths.js';
import { debianSources, debootstrap } from '../../src/kernel/build-root.js';
import { ensurePrerequisites } from '../../src/prereqs.js';
import { STATE_DIR } from '../../src/smb/created-dirs.js';

/** Bump when the recipe changes, so a root made the old way is not reused. */
const RECIPE = 1;
const PACKAGES = ['nodejs', 'ca-certificates'];

export interface Controller {
  /** The root directory (the chroot's /). */
  root: string;
  /** argv that runs a program inside it: append the program and its arguments. */
  via: string[];
  /** The controller's own cache directory, as seen from this machine. */
  cacheDir: string;
}

/** The cached trixie controller root, made if absent (about 2 minutes, cached like the build roots). */
export async function ensureTrixieController(log: (line: string) => void): Promise<Controller> {
  const key = createHash('sha256').update(JSON.stringify({ RECIPE, PACKAGES })).digest('hex').slice(0, 10);
  const root = join(CACHE_ROOT, 'controllers', `trixie-${key}`);
  if (!existsSync(join(root, '.complete'))) {
    await ensurePrerequisites(['module-build'], log);
    const tmp = `${root}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const t0 = Date.now();
    try {
      await debootstrap('trixie', tmp, join(CACHE_ROOT, 'debs'), PACKAGES);
      await writeFile(join(tmp, 'etc/apt/sources.list'), '');
      await writeFile(join(tmp, 'etc/apt/sources.list.d/debian.sources'), debianSources('trixie'));
      await writeFile(join(tmp, '.complete'), `trixie controller ${new Date().toISOString()}\n`);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    await rename(tmp, root);
    log(`trixie controller: made in ${((Date.now() - t0) / 1000).toFixed(0)} s at ${root}`);
  }
  const binds = ['/dev', '/tmp', STATE_DIR, ROOT];
  const enter = [
    'set -e; r=$1; shift',
    // The root a mount of its own, as / is on a real machine: the project's build roots are
    // entered with `unshare --propagation private`, which fails on a / that is no mount point.
    'mount --bind "$r" "$r"',
    'mount -t proc proc "$r/proc"',
    // Each bind at the same path inside; a path already visible through an earlier bind (the
    // project under /tmp, in a clean clone there) is bound again onto itself, which is harmless.
    'while [ "$1" != -- ]; do mkdir -p "$r$1"; mount --rbind "$1" "$r$1"; shift; done; shift',
    'exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 NO_COLOR=1 "$@"',
  ].join('\n');
  return {
    root,
    via: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', enter, 'sh', root, ...binds, '--'],
    cacheDir: join(root, 'var/cache/smbdirect-provision'),
  };
}

/** The VERSION_CODENAME of the controller's /etc/os-release. */
export const codenameOf = (c: Controller): string =>
  /^VERSION_CODENAME=(.*)$/m.exec(readFileSync(join(c.root, 'etc/os-release'), 'utf8'))?.[1] ?? '';
