// The truth tier's disk image: Debian bookworm with its stock kernel, built once and cached,
// because debootstrap plus a kernel install costs ~5 minutes and every VM can share it (each VM
// boots from its own qcow2 overlay, so the cached image stays pristine).
//
// Why each choice:
// - debootstrap into a directory, then `mkfs.ext4 -d DIR`: needs no loop devices, nbd or
//   guestfs (the controller may be a VM without kernel modules).
// - the kernel and initrd are copied out of the image and given to qemu with -kernel/-initrd,
//   so no bootloader is installed and the root is a bare ext4 (`root=/dev/vda`).
// - the kernel comes from bookworm-security (the newest stock 6.1), ksmbd-tools from
//   bookworm-backports: Debian 12's own 3.4.7 cannot talk to 6.1.192's ksmbd (domain-notes §7).
// - nothing per VM lives here: host keys, authorized_keys and network files come from a small
//   seed disk (vm-seed.ts) copied in at boot by smbdirect-seed.service, installed below.

import { $ } from 'zx';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { follow, noLog, step, type Log } from '../progress.js';
import { CACHE_ROOT, rebase } from '../paths.js';

const MIRROR = 'http://deb.debian.org/debian';
const SECURITY = 'http://deb.debian.org/debian-security';
/** Bump when the recipe below changes, so a cached image built the old way is not reused. */
const RECIPE = 1;
const BASE_PACKAGES = [
  'systemd-sysv', 'udev', 'dbus', 'openssh-server', 'iproute2', 'kmod', 'procps', 'sudo', 'python3',
  'cifs-utils', 'rdma-core', 'ibverbs-utils', 'rdmacm-utils', 'initramfs-tools', 'ca-certificates',
];
const MIN_KSMBD_TOOLS = '3.5.2';

export interface VmImage {
  dir: string;
  rootfs: string; // raw ext4, used read-only as the backing file of each VM's overlay
  kernel: string;
  initrd: string;
  release: string; // uname -r inside the VMs, e.g. 6.1.0-56-amd64
  kernelVersion: string; // Debian package version, e.g. 6.1.192-2
  ksmbdToolsVersion: string;
}

const sh = $({ quiet: true, verbose: false });

/** Returns the cached image for the current recipe and Debian kernel, building it if absent. */
export async function buildVmImage(opts: { cacheDir?: string; log?: Log } = {}): Promise<VmImage> {
  const log = opts.log ?? noLog;
  const cache = opts.cacheDir ?? CACHE_ROOT;
  const dir = join(cache, 'images', `bookworm-${await imageKey()}`);
  if (existsSync(join(dir, 'manifest.json'))) {
    log(`vm image: cached at ${dir}`);
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as VmImage;
    return { ...m, dir, rootfs: rebase(m.rootfs, m.dir, dir), kernel: rebase(m.kernel, m.dir, dir), initrd: rebase(m.initrd, m.dir, dir) };
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  await removeTree(tmp);
  await mkdir(tmp, { recursive: true });
  const t0 = Date.now();
  const image = await assemble(tmp, dir, join(cache, 'debs'), log).catch(async (err: unknown) => {
    await removeTree(tmp).catch(() => undefined); // refuses if something is still mounted there
    throw err;
  });
  await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(image, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir); // complete images only ever appear under the final name
  log(`vm image: ready in ${((Date.now() - t0) / 1000).toFixed(0)}s at ${dir}`);
  return image;
}

/** Cache key: the recipe plus the kernel Debian would install today, so a new stock kernel
 * (which the rebuilt modules must match) yields a new image rather than a stale one. */
async function imageKey(): Promise<string> {
  const policy = await sh`apt-cache policy linux-image-amd64`.nothrow();
  const kernel = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1] ?? 'unknown';
  const h = createHash('sha256').update(JSON.stringify({ RECIPE, BASE_PACKAGES, kernel })).digest('hex');
  return `${kernel}-${h.slice(0, 10)}`;
}

async function assemble(tmp: string, dir: string, debs: string, log: Log): Promise<VmImage> {
  const root = join(tmp, 'root');
  await mkdir(debs, { recursive: true });
  await step(log, 'vm image: debootstrap bookworm', (note) =>
    follow(sh`debootstrap --variant=minbase --cache-dir=${debs} --include=${BASE_PACKAGES.join(',')} bookworm ${root} ${MIRROR}`, note));
  await configure(root);
  await inChroot(root, log);
  const release = await onlyEntry(join(root, 'lib/modules'));
  const image: VmImage = {
    dir, rootfs: join(dir, 'rootfs.raw'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), release,
    kernelVersion: await pkgVersion(root, `linux-image-${release}`),
    ksmbdToolsVersion: await pkgVersion(root, 'ksmbd-tools'),
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
async function configure(root: string): Promise<void> {
  const w = (path: string, text: string, mode = 0o644): Promise<void> =>
    mkdir(join(root, path, '..'), { recursive: true }).then(() => writeFile(join(root, path), text, { mode }));
  await w('etc/fstab', '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  await w('etc/hostname', 'debian\n'); // the real name comes from systemd.hostname= on the kernel command line
  await w('etc/hosts', '127.0.0.1 localhost\n');
  await w('etc/apt/sources.list', '');
  await w('etc/apt/sources.list.d/debian.sources', SOURCES);
  await w('usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755); // no daemons start inside the chroot
  await w('etc/ssh/sshd_config.d/10-smbdirect-lab.conf', SSHD);
  await w('usr/local/sbin/smbdirect-seed', SEED_SCRIPT, 0o755);
  await w('etc/systemd/system/smbdirect-seed.service', SEED_UNIT);
}

/** Kernel from security, ksmbd-tools from backports, then the services the lab wants. */
async function inChroot(root: string, log: Log): Promise<void> {
  await sh`mount -t proc proc ${join(root, 'proc')}`; // initramfs-tools and some postinsts need /proc
  try {
    const env = 'DEBIAN_FRONTEND=noninteractive';
    await step(log, 'vm image: kernel + ksmbd-tools (backports)', async (note) => {
      await follow(sh`chroot ${root} sh -c ${`${env} apt-get update && ${env} apt-get -y dist-upgrade`}`, note);
      await follow(sh`chroot ${root} sh -c ${`${env} apt-get install -y --no-install-recommends linux-image-amd64`}`, note);
      await follow(sh`chroot ${root} sh -c ${`${env} apt-get install -y --no-install-recommends -t bookworm-backports ksmbd-tools`}`, note);
    });
    const tools = await pkgVersion(root, 'ksmbd-tools');
    const ok = await sh`chroot ${root} dpkg --compare-versions ${tools} ge ${MIN_KSMBD_TOOLS}`.nothrow();
    if (ok.exitCode !== 0) throw new Error(`vm image: ksmbd-tools ${tools} < ${MIN_KSMBD_TOOLS}; 6.1.192's ksmbd needs >= ${MIN_KSMBD_TOOLS}`);
    // networkd applies the seed's .network files; ksmbd stays off until a playbook configures it
    // (it cannot start without ksmbd.conf); apt timers would only fail without a network.
    await sh`chroot ${root} systemctl enable systemd-networkd.service smbdirect-seed.service`;
    await sh`chroot ${root} systemctl disable ksmbd.service`.nothrow();
    await sh`chroot ${root} systemctl mask apt-daily.timer apt-daily-upgrade.timer`.nothrow();
    await sh`chroot ${root} apt-get clean`;
  } finally {
    await sh`umount ${join(root, 'proc')}`.nothrow();
  }
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

const SOURCES = `Types: deb
URIs: ${MIRROR}
Suites: bookworm bookworm-updates bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${SECURITY}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

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
