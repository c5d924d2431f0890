// One lab host: an overlayfs copy-on-write root over the shared base image, its identity
// files, and its sshd running as PID 1 of fresh mount/UTS/PID namespaces inside the host's
// network namespace. Hosts share the machine's kernel: modprobe, sysctl, ksmbd, cifs and
// rdma cannot work in them (read-only /proc/sys, no /lib/modules).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, openSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { LAB_USER, userIds } from './rootfs.js';
import { startTimeOf } from './proc.js';
import type { HostState } from './state.js';
import { run, sleep } from './util.js';

/** Paths of one host's directory (stateDir/hosts/NAME). */
export function hostPaths(dir: string): { upper: string; work: string; root: string; log: string } {
  return {
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    root: path.join(dir, 'root'),
    log: path.join(dir, 'sshd.log'),
  };
}

/** Generates an ed25519 key pair at `file` / `file.pub`; returns the public key line. */
export async function keygen(file: string, comment: string): Promise<string> {
  await fs.rm(file, { force: true });
  await fs.rm(`${file}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return (await fs.readFile(`${file}.pub`, 'utf8')).trim();
}

export async function mountOverlay(base: string, dir: string): Promise<void> {
  const p = hostPaths(dir);
  for (const d of [p.upper, p.work, p.root]) await fs.mkdir(d, { recursive: true });
  // overlayfs option syntax cannot carry these characters.
  for (const d of [base, p.upper, p.work]) {
    if (/[,:\\]/.test(d)) throw new Error(`lab path ${d} must not contain ',', ':' or '\\'`);
  }
  const opts = `lowerdir=${base},upperdir=${p.upper},workdir=${p.work}`;
  await run('mount', ['-t', 'overlay', `smbdlab-${path.basename(dir)}`, '-o', opts, p.root]);
}

/**
 * Writes the host's identity into its overlay root: hostname, machine-id, /etc/hosts with
 * every lab host (so clients resolve servers by name), its own host key, its listen
 * address, and the controller's key for root and labuser. Returns the host's public key.
 */
export async function writeIdentity(
  h: HostState, allHosts: HostState[], authorizedKey: string,
): Promise<string> {
  const root = hostPaths(h.dir).root;
  const p = (rel: string): string => path.join(root, rel);
  await fs.writeFile(p('etc/hostname'), `${h.name}\n`);
  await fs.writeFile(p('etc/machine-id'), `${randomBytes(16).toString('hex')}\n`);
  const hostsFile = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    '# smbdirect-provision lab hosts',
    ...allHosts.map((o) => `${o.address}\t${o.name}`),
  ].join('\n');
  await fs.writeFile(p('etc/hosts'), `${hostsFile}\n`);
  await fs.writeFile(p('etc/ssh/sshd_config.d/10-smbdirect-lab-listen.conf'), `ListenAddress ${h.address}:22\n`);
  const pub = await keygen(p('etc/ssh/ssh_host_ed25519_key'), `root@${h.name}`);

  await fs.writeFile(p('root/.ssh/authorized_keys'), `${authorizedKey}\n`, { mode: 0o600 });
  const { uid, gid } = await userIds(root, LAB_USER);
  const userKeys = p(`home/${LAB_USER}/.ssh/authorized_keys`);
  await fs.writeFile(userKeys, `${authorizedKey}\n`, { mode: 0o600 });
  await fs.chown(userKeys, uid, gid);
  return pub;
}

// PID 1 of the host's namespaces ($1 = overlay root, $2 = hostname, $3 = ADDR/LEN, $4 = an
// address this host must never answer, or empty). Already in the host's netns, it first brings
// up lo and eth0 with the address (sshd binds to it, so this must come before sshd). A host
// behind the lab's bastion gets a blackhole route to the controller's bridge address: its
// replies to the controller are dropped, so no TCP connection from there ever completes (added
// before sshd starts, so there is never a moment when it is reachable). Then it builds a minimal
// /dev (only safe device nodes bound from the machine, a private devpts for ssh ptys),
// a read-only sysfs (this netns's view) and read-only /proc/sys, then becomes sshd.
const INNER = `set -e
R="$1"
ip link set lo up
ip addr add "$3" dev eth0
ip link set eth0 up
if [ -n "$4" ]; then ip route add blackhole "$4/32"; fi
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mkdir -p "$R/run/sshd" "$R/run/lock"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev"
for d in null zero full random urandom tty; do
  : > "$R/dev/$d"
  mount --bind "/dev/$d" "$R/dev/$d"
done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
hostname "$2"
exec chroot "$R" /usr/sbin/sshd -D -e
`;

/**
 * Starts the host's sshd and returns the PID of its `unshare` with that PID's start time.
 * Spawned detached (its own session, like setsid) so a Ctrl-C or a timeout killing the
 * caller does not take the lab down; nsenter execs unshare, so the PID is unshare's, and
 * unshare --kill-child makes SIGKILL on it take the whole PID namespace down.
 */
export async function startHost(h: HostState, prefixLen: number, refuse = ''): Promise<{ pid: number; startTime?: number }> {
  const p = hostPaths(h.dir);
  const fd = openSync(p.log, 'a');
  try {
    const child = spawn(
      'nsenter',
      [
        `--net=/run/netns/${h.netns}`, '--',
        'unshare', '--mount', '--uts', '--pid', '--fork', '--kill-child', '--propagation', 'private',
        '/bin/sh', '-c', INNER, 'lab-init', p.root, h.name, `${h.address}/${prefixLen}`, refuse,
      ],
      { detached: true, stdio: ['ignore', fd, fd] },
    );
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => (child.pid ? resolve(child.pid) : reject(new Error('no pid'))));
    });
    child.unref();
    return { pid, startTime: await startTimeOf(pid) };
  } finally {
    closeSync(fd);
  }
}

/** Resolves when ADDR:22 accepts a TCP connection; rejects after `timeoutMs`. */
export async function waitForSsh(address: string, timeoutMs: number, isUp: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryConnect(address, 22)) return;
    if (!(await isUp())) throw new Error(`sshd on ${address} exited`);
    if (Date.now() > deadline) throw new Error(`sshd on ${address}:22 did not accept a connection within ${timeoutMs / 1000}s`);
    await sleep(100);
  }
}

/**
 * Resolves when the host's sshd says it listens (its log, `sshd -e`): for a host behind the
 * bastion, which the controller cannot connect to. Reading a file costs no process per poll.
 */
export async function waitForListening(h: HostState, timeoutMs: number, isUp: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const line = `Server listening on ${h.address} port 22.`;
  for (;;) {
    if ((await fs.readFile(hostPaths(h.dir).log, 'utf8').catch(() => '')).includes(line)) return;
    if (!(await isUp())) throw new Error(`sshd on ${h.address} exited`);
    if (Date.now() > deadline) throw new Error(`sshd on ${h.address}:22 did not start listening within ${timeoutMs / 1000}s`);
    await sleep(100);
  }
}

export function tryConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** The last lines of a host's sshd log, for error messages. */
export async function logTail(h: HostState, lines = 10): Promise<string> {
  const text = await fs.readFile(hostPaths(h.dir).log, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n');
}
