// The truth tier's disk images: one per Debian release (bookworm 6.1, trixie 6.12, and trixie's
// userland with the trixie-backports 7.x kernel), each with that release's stock kernel, built once and cached,
// because debootstrap plus a kernel install costs ~5 minutes and every VM can share it (each VM
// boots from its own qcow2 overlay, so the cached image stays pristine).
//
// Why each choice:
// - debootstrap into a directory, then `mkfs.ext4 -d DIR`: needs no loop devices, nbd or
//   guestfs (the controller may be a VM without kernel modules).
// - the kernel and initrd are copied out of the image and given to qemu with -kernel/-initrd,
//   so no bootloader is installed and the root is a bare ext4 (`root=/dev/vda`).
// - the kernel is the release's newest stock one (bookworm: from bookworm-security; trixie-backports:
//   from the backports suite); ksmbd-tools the release's own, except on bookworm, where
//   bookworm-backports': Debian 12's own 3.4.7 cannot talk to 6.1.192's ksmbd (domain-notes §7).
// - which kernel Debian would install today is asked of the release's build root
//   (src/kernel/build-root.ts), whose apt knows that release, whatever the controller runs.
// - nothing per VM lives here: host keys, authorized_keys and network files come from a small
//   seed disk (vm-seed.ts) copied in at boot by smbdirect-seed.service, installed below.

import { $ } from 'zx';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { follow, noLog, step, type Log } from '../progress.js';
import { CACHE_ROOT, rebase } from '../paths.js';
import { debianSources, debootstrap, ensureBuildRoot, inRoot, refreshLists, type Codename } from '../kernel/build-root.js';
import { publishDir } from '../publish-dir.js';

/** Bump when the recipe below changes, so a cached image built the old way is not reused. */
const RECIPE = 1;
const BASE_PACKAGES = [
  'systemd-sysv', 'udev', 'dbus', 'openssh-server', 'iproute2', 'kmod', 'procps', 'sudo', 'python3',
  'cifs-utils', 'rdma-core', 'ibverbs-utils', 'rdmacm-utils', 'initramfs-tools', 'ca-certificates',
];
const MIN_KSMBD_TOOLS = '3.5.2';

/** The releases the VM lab can boot: a Debian userland plus where its kernel comes from. */
export const VM_RELEASES = ['bookworm', 'trixie', 'trixie-backports'] as const;
export type VmRelease = (typeof VM_RELEASES)[number];
interface ReleaseRecipe { codename: Codename; kernelSuite?: string; ksmbdToolsSuite?: string }
const RECIPES: Record<VmRelease, ReleaseRecipe> = {
  bookworm: { codename: 'bookworm', ksmbdToolsSuite: 'bookworm-backports' },
  trixie: { codename: 'trixie' },
  'trixie-backports': { codename: 'trixie', kernelSuite: 'trixie-backports', ksmbdToolsSuite: 'trixie-backports' },
};
export const codenameOfVmRelease = (r: VmRelease): Codename => RECIPES[r].codename;
export const isVmRelease = (s: unknown): s is VmRelease => typeof s === 'string' && (VM_RELEASES as readonly string[]).includes(s);

export interface VmImage {
  dir: string;
  rootfs: string; // raw ext4, used read-only as the backing file of each VM's overlay
  kernel: string;
  initrd: string;
  release: string; // uname -r inside the VMs, e.g. 6.1.0-56-amd64
  kernelVersion: string; // Debian package version, e.g. 6.1.192-2
  ksmbdToolsVersion: string;
  /** Which VM_RELEASES entry this image is (absent in images made before there were several). */
  vmRelease?: VmRelease;
}

const sh = $({ quiet: true, verbose: false });

/** The image whose manifest is in DIR, its paths as they are now (the cache dir may have moved). */
async function cachedImage(dir: string, release: VmRelease): Promise<VmImage> {
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as VmImage;
  return { ...m, vmRelease: release, dir, rootfs: rebase(m.rootfs, m.dir, dir), kernel: rebase(m.kernel, m.dir, dir), initrd: rebase(m.initrd, m.dir, dir) };
}

/** Returns the cached image of RELEASE for the current recipe and Debian kernel, building it if absent. */
export async function buildVmImage(opts: { cacheDir?: string; log?: Log; release?: VmRelease } = {}): Promise<VmImage> {
  const log = opts.log ?? noLog;
  const cache = opts.cacheDir ?? CACHE_ROOT;
  const release = opts.release ?? 'bookworm';
  const recipe = RECIPES[release];
  const buildRoot = await ensureBuildRoot(recipe.codename, { cacheDir: cache, log });
  const dir = join(cache, 'images', `${release}-${await imageKey(buildRoot, release)}`);
  if (existsSync(join(dir, 'manifest.json'))) {
    log(`vm image ${release}: cached at ${dir}`);
    return cachedImage(dir, release);
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  await removeTree(tmp);
  await mkdir(tmp, { recursive: true });
  const t0 = Date.now();
  const image = await assemble(tmp, dir, join(cache, 'debs'), release, log).catch(async (err: unknown) => {
    await removeTree(tmp).catch(() => undefined); // refuses if something is still mounted there
    throw err;
  });
  await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(image, null, 2)}\n`);
  // complete images only ever appear under the final name; one another build made meanwhile stays
  if (!(await publishDir(tmp, dir, (d) => existsSync(join(d, 'manifest.json'))))) {
    log(`vm image ${release}: built by another process meanwhile, that one used (${dir})`);
    return cachedImage(dir, release);
  }
  log(`vm image ${release}: ready in ${((Date.now() - t0) / 1000).toFixed(0)}s at ${dir}`);
  return image;
}

/** Cache key: the recipe plus the kernel Debian would install today for RELEASE (asked of that
 * release's build root, its lists refreshed daily), so a new stock kernel (which the rebuilt
 * modules must match) yields a new image rather than a stale one. bookworm's key keeps its
 * original inputs, so images cached before there were several releases stay valid. */
async function imageKey(buildRoot: string, release: VmRelease): Promise<string> {
  const kernel = await candidateKernel(buildRoot, release);
  const inputs = release === 'bookworm' ? { RECIPE, BASE_PACKAGES, kernel } : { RECIPE, BASE_PACKAGES, kernel, release, recipe: RECIPES[release] };
  const h = createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
  return `${kernel}-${h.slice(0, 10)}`;
}

/** linux-image-amd64's version that RELEASE's image gets: the highest of its suites, or of the
 * kernel suite when the recipe names one (apt-cache madison: "pkg | version | url suite/main ..."). */
async function candidateKernel(buildRoot: string, release: VmRelease): Promise<string> {
  await refreshLists(buildRoot);
  const out = (await inRoot(buildRoot, 'apt-cache madison linux-image-amd64').nothrow()).stdout;
  const suite = RECIPES[release].kernelSuite;
  const rows = out.split('\n').map((l) => l.split('|').map((f) => f.trim())).filter((f) => f.length >= 3);
  const fitting = rows.filter((f) => (suite ? f[2]!.includes(` ${suite}/`) : !f[2]!.includes('-backports/'))).map((f) => f[1]!);
  if (fitting.length === 0) throw new Error(`vm image ${release}: no linux-image-amd64 in ${suite ?? RECIPES[release].codename} (apt-cache madison in ${buildRoot}: ${out.trim() || 'nothing'})`);
  return fitting[0]!; // madison lists the highest version first
}

async function assemble(tmp: string, dir: string, debs: string, vmRelease: VmRelease, log: Log): Promise<VmImage> {
  const root = join(tmp, 'root');
  const { codename } = RECIPES[vmRelease];
  await mkdir(debs, { recursive: true });
  await step(log, `vm image ${vmRelease}: debootstrap ${codename}`, (note) =>
    follow(debootstrap(codename, root, debs, BASE_PACKAGES), note));
  await configure(root, codename);
  await inChroot(root, vmRelease, log);
  const release = await onlyEntry(join(root, 'lib/modules'));
  const image: VmImage = {
    dir, rootfs: join(dir, 'rootfs.raw'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), release,
    kernelVersion: await pkgVersion(root, `linux-image-${release}`),
    ksmbdToolsVersion: await pkgVersion(root, 'ksmbd-tools'),
    vmRelease,
  };
  await copyFile(join(root, `boot/vmlinuz-${release}`), join(tmp, 'vmlinuz'));
  await copyFile(join(root, `boot/initrd.img-${release}`), join(tmp, 'initrd.img'));
  await step(log, 'vm image: mkfs.ext4 -d', async () => {
    await sh`truncate -s 4G ${join(tmp, 'rootfs.raw')}`; // sparse: room for modules and test files
    await sh`mkfs.ext4 -q -F -L smbdroot -d ${root} ${join(tmp, 'rootfs.raw')}`;
  });
  await removeTree(root);
  return image;
}

/** Files the image needs before its packages are completed in the chroot. */
async function configure(root: string, codename: Codename): Promise<void> {
  const w = (path: string, text: string, mode = 0o644): Promise<void> =>
    mkdir(join(root, path, '..'), { recursive: true }).then(() => writeFile(join(root, path), text, { mode }));
  await w('etc/fstab', '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  await w('etc/hostname', 'debian\n'); // the real name comes from systemd.hostname= on the kernel command line
  await w('etc/hosts', '127.0.0.1 localhost\n');
  await w('etc/apt/sources.list', '');
  await w('etc/apt/sources.list.d/debian.sources', debianSources(codename));
  await w('usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755); // no daemons start inside the chroot
  await w('etc/ssh/sshd_config.d/10-smbdirect-lab.conf', SSHD);
  await w('usr/local/sbin/smbdirect-seed', SEED_SCRIPT, 0o755);
  await w('etc/systemd/system/smbdirect-seed.service', SEED_UNIT);
}

/** The release's kernel (from its kernel suite, if the recipe names one) and ksmbd-tools (likewise),
 * then the services the lab wants. */
async function inChroot(root: string, release: VmRelease, log: Log): Promise<void> {
  const recipe = RECIPES[release];
  const from = (suite: string | undefined): string => (suite ? `-t ${suite} ` : '');
  // Every step runs through inRoot: /proc (initramfs-tools and some postinsts need it) is mounted
  // in a private mount namespace that vanishes with the step, so an interrupted build leaves no
  // /proc mounted inside the half-made image (a plain mount here once outlived a killed build).
  const env = 'DEBIAN_FRONTEND=noninteractive';
  await step(log, `vm image ${release}: kernel${recipe.kernelSuite ? ` (${recipe.kernelSuite})` : ''} + ksmbd-tools${recipe.ksmbdToolsSuite ? ` (${recipe.ksmbdToolsSuite})` : ''}`, async (note) => {
    await follow(inRoot(root, `${env} apt-get update && ${env} apt-get -y dist-upgrade`), note);
    await follow(inRoot(root, `${env} apt-get install -y --no-install-recommends ${from(recipe.kernelSuite)}linux-image-amd64`), note);
    await follow(inRoot(root, `${env} apt-get install -y --no-install-recommends ${from(recipe.ksmbdToolsSuite)}ksmbd-tools`), note);
  });
  const tools = await pkgVersion(root, 'ksmbd-tools');
  const ok = await inRoot(root, 'dpkg --compare-versions "$1" ge "$2"', tools, MIN_KSMBD_TOOLS).nothrow();
  if (ok.exitCode !== 0) throw new Error(`vm image ${release}: ksmbd-tools ${tools} < ${MIN_KSMBD_TOOLS}; kernels from 6.1 on need >= ${MIN_KSMBD_TOOLS}`);
  // networkd applies the seed's .network files; ksmbd stays off until a playbook configures it
  // (it cannot start without ksmbd.conf); apt timers would only fail without a network.
  await inRoot(root, 'systemctl enable systemd-networkd.service smbdirect-seed.service');
  await inRoot(root, 'systemctl disable ksmbd.service').nothrow();
  await inRoot(root, 'systemctl mask apt-daily.timer apt-daily-upgrade.timer').nothrow();
  await inRoot(root, 'apt-get clean');
  // Per-VM identity must not be shared: host keys come from the seed, machine-id from the
  // kernel command line (systemd.machine_id=).
  await sh`sh -c ${'rm -f "$1"/etc/ssh/ssh_host_* "$1"/var/lib/dbus/machine-id "$1"/usr/sbin/policy-rc.d; rm -rf "$1"/var/lib/apt/lists/*; : > "$1"/etc/machine-id'} sh ${root}`;
}

async function pkgVersion(root: string, pkg: string): Promise<string> {
  return (await sh`chroot ${root} dpkg-query -W -f=${'${Version}'} ${pkg}`).stdout.trim();
}

async function onlyEntry(path: string): Promise<string> {
  const entries = await readdir(path);
  if (entries.length !== 1 || entries[0] === undefined) throw new Error(`vm image: expected one kernel in ${path}, found ${entries.join(', ')}`);
  return entries[0];
}

/** rm -rf that refuses to descend into anything still mounted (a bound /dev or /proc). */
async function removeTree(path: string): Promise<void> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  const busy = mounts.split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m === path || m.startsWith(`${path}/`));
  if (busy.length > 0) throw new Error(`refusing to remove ${path}: still mounted: ${busy.join(', ')}`);
  await rm(path, { recursive: true, force: true });
}

// Key-only root login with exactly one host key (the seeded one), no DNS or PAM delays, and
// room for many parallel connections from the provisioning engine.
const SSHD = `PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
UsePAM no
MaxStartups 200:30:400
MaxSessions 100
`;

// The seed disk (vdb, ext4 labelled smbdseed) carries a tree copied over / at every boot,
// before networkd and sshd read their files. No seed: nothing happens (the unit is skipped).
const SEED_SCRIPT = `#!/bin/sh
set -eu
mkdir -p /run/smbdirect-seed
mount -o ro /dev/vdb /run/smbdirect-seed
cp -a /run/smbdirect-seed/root/. /
umount /run/smbdirect-seed
`;

const SEED_UNIT = `[Unit]
Description=Copy this VM's seed (host key, authorized_keys, network) from /dev/vdb
DefaultDependencies=no
ConditionPathExists=/dev/vdb
After=systemd-remount-fs.service local-fs.target
Before=sysinit.target systemd-networkd.service ssh.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/smbdirect-seed

[Install]
WantedBy=sysinit.target
`;
