// The shared, read-only base image every lab host overlays. Building it (debootstrap plus a
// backports install) takes minutes, so it is cached under CACHE_ROOT (src/paths.ts) keyed by what went into
// it, built in a temp dir and renamed into place only when complete: an interrupted build is
// never used, and its leftovers are removed by the next build.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sh, timed, type Log } from './util.js';
import { unmountUnder } from './mounts.js';
import { publishDir } from '../publish-dir.js';

export const SUITE = 'bookworm';
export const MIRROR = 'http://deb.debian.org/debian';

export const BASE_PACKAGES = [
  'openssh-server', 'python3', 'iproute2', 'kmod', 'procps', 'sudo', 'systemd-sysv', 'dbus',
  'libpam-systemd', 'cifs-utils', 'rdma-core', 'ibverbs-utils', 'rdmacm-utils', 'ca-certificates',
];

// Debian 12's own ksmbd-tools (3.4.7) is broken with its kernel; backports has >= 3.5.2.
const BACKPORTS_PACKAGES = ['ksmbd-tools'];
const KSMBD_TOOLS_MIN = '3.5.2';

/** Bump when the post-debootstrap recipe below changes, so old caches are not reused. */
const RECIPE_VERSION = 1;

export const LAB_USER = 'labuser';

export function baseImageKey(): string {
  const what = JSON.stringify({
    suite: SUITE, mirror: MIRROR, include: BASE_PACKAGES, backports: BACKPORTS_PACKAGES,
    recipe: RECIPE_VERSION,
  });
  return createHash('sha256').update(what).digest('hex').slice(0, 12);
}

// Key-only root login; one host key whose file each host replaces with its own. UsePAM no
// keeps logins cheap (no pam_systemd round trips without systemd); MaxStartups/MaxSessions
// are raised because the default 10:30:100 drops the tool's parallel connections.
const SSHD_DROP_IN = `# smbdirect-provision lab: written by the base image build
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UseDNS no
UsePAM no
MaxStartups 200:30:400
MaxSessions 100
HostKey /etc/ssh/ssh_host_ed25519_key
`;

// Runs inside the chroot, in a private mount namespace (see buildInto). $1 = ksmbd min version.
const CHROOT_SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin
apt-get update -q
apt-get install -y -q --no-install-recommends -t ${SUITE}-backports ${BACKPORTS_PACKAGES.join(' ')}
v=$(dpkg-query -W -f='\${Version}' ksmbd-tools)
dpkg --compare-versions "$v" ge "$1" || { echo "ksmbd-tools $v < $1" >&2; exit 1; }
id ${LAB_USER} >/dev/null 2>&1 || useradd -m -s /bin/bash ${LAB_USER}
# '*' instead of useradd's '!': with UsePAM no, sshd refuses key logins to "locked" accounts.
usermod -p '*' ${LAB_USER}
usermod -p '*' root
apt-get clean
`;

/** Returns the path of the cached base image, building it first if needed. */
export async function ensureBaseImage(cacheDir: string, log: Log): Promise<string> {
  const key = baseImageKey();
  const final = path.join(cacheDir, `rootfs-${key}`);
  await fs.mkdir(cacheDir, { recursive: true });
  await removeStaleBuilds(cacheDir);
  if (await isComplete(final)) return final;
  const tmp = path.join(cacheDir, `.rootfs-${key}.tmp-${process.pid}`);
  try {
    await buildInto(tmp, log);
    await fs.writeFile(path.join(tmp, '.smbdirect-lab-complete'), `${key}\n`);
    await publishDir(tmp, final, isComplete);
  } catch (err) {
    await unmountUnder(tmp);
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return final;
}

async function isComplete(dir: string): Promise<boolean> {
  return fs.access(path.join(dir, '.smbdirect-lab-complete')).then(() => true, () => false);
}

/** Deletes temp dirs of builds whose process is gone (interrupted, or killed). */
async function removeStaleBuilds(cacheDir: string): Promise<void> {
  for (const name of await fs.readdir(cacheDir)) {
    const m = /^\.rootfs-[0-9a-f]+\.tmp-(\d+)$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const alive = pid !== process.pid && (await fs.access(`/proc/${pid}`).then(() => true, () => false));
    if (alive) continue;
    const dir = path.join(cacheDir, name);
    await unmountUnder(dir);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function buildInto(dir: string, log: Log): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  // debootstrap mounts proc/sys in the target itself; a private mount namespace guarantees
  // those mounts disappear with it even if debootstrap is killed half way.
  await timed(log, `debootstrap ${SUITE} base image (${dir})`, () =>
    sh`unshare --mount --propagation private debootstrap --variant=minbase --include=${BASE_PACKAGES.join(',')} ${SUITE} ${dir} ${MIRROR}`,
  );

  await fs.writeFile(
    path.join(dir, 'etc/apt/sources.list.d', `${SUITE}-backports.list`),
    `deb ${MIRROR} ${SUITE}-backports main\n`,
  );
  // No service may start during the build (the chroot shares the machine's kernel/network).
  const policy = path.join(dir, 'usr/sbin/policy-rc.d');
  await fs.writeFile(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await fs.copyFile('/etc/resolv.conf', path.join(dir, 'etc/resolv.conf'));

  // apt inside the chroot needs /proc and /dev; mounted in a private namespace, so they are
  // unmounted when it exits, whatever happens. The explicit umounts keep the happy path tidy.
  const script = `set -eu
R="$1"; shift
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
rc=0
chroot "$R" /bin/sh -c "$0" chroot-step "$@" || rc=$?
umount -R "$R/dev" || true
umount "$R/proc" || true
exit $rc`;
  await timed(log, `install ${BACKPORTS_PACKAGES.join(' ')} from ${SUITE}-backports`, () =>
    sh`unshare --mount --propagation private /bin/sh -c ${script} ${CHROOT_SCRIPT} ${dir} ${KSMBD_TOOLS_MIN}`,
  );

  await finishImage(dir);
}

/** File-level cleanup that makes the image safe to share between many hosts. */
async function finishImage(dir: string): Promise<void> {
  const p = (rel: string): string => path.join(dir, rel);
  await fs.rm(p('usr/sbin/policy-rc.d'), { force: true });
  // The hosts have no route out; an empty resolv.conf avoids pointless DNS timeouts.
  await fs.writeFile(p('etc/resolv.conf'), '');
  // Each host gets its own host key and machine-id; the shared ones must not exist.
  for (const f of await fs.readdir(p('etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await fs.rm(p(`etc/ssh/${f}`), { force: true });
  }
  await fs.writeFile(p('etc/machine-id'), '');
  await fs.rm(p('var/lib/dbus/machine-id'), { force: true });
  await fs.mkdir(p('etc/ssh/sshd_config.d'), { recursive: true });
  await fs.writeFile(p('etc/ssh/sshd_config.d/00-smbdirect-lab.conf'), SSHD_DROP_IN);
  await fs.writeFile(p(`etc/sudoers.d/${LAB_USER}`), `${LAB_USER} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  await fs.mkdir(p('root/.ssh'), { recursive: true, mode: 0o700 });
  const { uid, gid } = await userIds(dir, LAB_USER);
  const userSsh = p(`home/${LAB_USER}/.ssh`);
  await fs.mkdir(userSsh, { recursive: true, mode: 0o700 });
  await fs.chown(userSsh, uid, gid);
}

/** uid/gid of a user in the image's /etc/passwd (not the machine's). */
export async function userIds(root: string, user: string): Promise<{ uid: number; gid: number }> {
  const passwd = await fs.readFile(path.join(root, 'etc/passwd'), 'utf8');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`user ${user} not found in ${root}/etc/passwd`);
}
