// The controller's prerequisites: every external program the project runs on THIS machine (the
// namespace lab, the VM lab, the kernel-module builds, the bench, the report's browser test), each with the Debian package
// that provides it, in one list. Each entry point installs what its feature lacks before its
// first step, so a machine with only the base image needs no hand step. test/prereqs.test.ts reads
// this list and the code, and fails when a program the code runs has no entry here.
//
// Programs run on managed hosts (over SSH) are not here: those are the hosts' business, and the
// playbooks install what the hosts need.

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { spawn } from 'node:child_process';
import { step, type Note } from './progress.js';

export type Feature = 'lab' | 'vm-lab' | 'module-build' | 'bench' | 'ansible' | 'report-test' | 'probe-test';

export interface Prerequisite {
  /** the program as the code runs it (looked up on PATH) */
  command: string;
  /** the Debian package that provides it */
  pkg: string;
  /** instead of a program: a file or directory the package provides (a library, a collection) */
  path?: string;
}

const req = (pkg: string, ...commands: string[]): Prerequisite[] => commands.map((command) => ({ command, pkg }));

/** Shared by every feature: the shell zx runs commands with, and apt itself. */
const COMMON: Prerequisite[] = [
  ...req('bash', 'bash'),
  ...req('dash', 'sh'),
  ...req('apt', 'apt-get', 'apt-cache'),
  ...req('dpkg', 'dpkg-query'),
  ...req('coreutils', 'cp', 'readlink', 'truncate', 'chroot', 'rm', 'uname'),
  ...req('mount', 'mount', 'umount'),
];

export const PREREQUISITES: Record<Feature, Prerequisite[]> = {
  // Real sshd hosts in network namespaces over an overlayfs root (src/lab/lab.ts).
  lab: [
    ...COMMON,
    ...req('iproute2', 'ip'),
    ...req('util-linux', 'unshare', 'nsenter'),
    ...req('openssh-client', 'ssh', 'ssh-keygen'),
    ...req('debootstrap', 'debootstrap'),
    // the hash of the lab's sudo user's password (src/lab/sudo-user.ts)
    ...req('openssl', 'openssl'),
  ],
  // qemu VMs with Debian's stock kernel (src/lab/vm*.ts).
  'vm-lab': [
    ...COMMON,
    ...req('debootstrap', 'debootstrap'),
    ...req('e2fsprogs', 'mkfs.ext4'),
    ...req('qemu-system-x86', 'qemu-system-x86_64'),
    ...req('qemu-utils', 'qemu-img'),
    ...req('util-linux', 'unshare'), // debootstrap and the image's chroot steps in a private mount namespace
    ...req('openssh-client', 'ssh', 'scp', 'ssh-keygen'),
  ],
  // Out-of-tree cifs/ksmbd/siw/smbdirect builds (src/kernel/build-modules.ts). They run inside a
  // build root of the host's Debian release (src/kernel/build-root.ts: debootstrap, then chroot in
  // a private mount namespace), which brings its own make, gcc, binutils, kmod and patch; the
  // per-release linux-headers-RELEASE and linux-source-X.Y go into that root, not onto this machine.
  'module-build': [
    ...COMMON,
    ...req('debootstrap', 'debootstrap'),
    ...req('util-linux', 'unshare'),
    ...req('coreutils', 'stat'),
  ],
  // npm run bench: tuned Ansible against the same lab (bench/ansible uses ansible.posix, which
  // comes with the `ansible` package of collections, not with ansible-core alone).
  bench: [
    ...COMMON,
    ...req('ansible-core', 'ansible-playbook'),
    { command: 'ansible.posix collection', pkg: 'ansible', path: '/usr/lib/python3/dist-packages/ansible_collections/ansible/posix' },
    ...req('openssh-client', 'ssh'),
  ],
  // Real Ansible as the reference in tests: ansible-inventory for how inventories resolve,
  // ansible-vault to make the encrypted files we must read, ansible for ad-hoc -m raw.
  ansible: [
    ...COMMON,
    ...req('ansible-core', 'ansible', 'ansible-inventory', 'ansible-vault', 'ansible-playbook'),
  ],
  // A real browser renders `run --report`'s HTML page in tests (test/report-browser.test.ts):
  // headless Chromium's --dump-dom and --screenshot.
  'report-test': [
    ...COMMON,
    ...req('chromium', 'chromium'),
  ],
  // The throughput probe's script run on this machine with fio (test/smb-probe-script.test.ts):
  // on a managed host fio is used where installed, so the test needs it here.
  'probe-test': [
    ...COMMON,
    ...req('fio', 'fio'),
  ],
};

/** Every package any feature names (for .ci/run, which purges them to prove the installs). */
export function allPackages(): string[] {
  return [...new Set(Object.values(PREREQUISITES).flat().map((p) => p.pkg))].sort();
}

/** Whether `command` is an executable file somewhere on PATH (no process: this runs on every lab up). */
export async function onPath(command: string, path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): Promise<boolean> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    if (await access(join(dir, command), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

/** The packages whose commands are missing for these features. */
export async function missingPackages(features: Feature[]): Promise<string[]> {
  const missing = new Set<string>();
  for (const p of features.flatMap((f) => PREREQUISITES[f])) {
    const there = p.path ? await access(p.path).then(() => true, () => false) : await onPath(p.command);
    if (!there) missing.add(p.pkg);
  }
  return [...missing];
}

/** A failure the user fixes outside the tool: the message says what and how. */
export class PrerequisiteError extends Error {}

/** Installs whatever these features lack, with a progress line; nothing when all is there. */
export async function ensurePrerequisites(features: Feature[], log: (line: string) => void): Promise<void> {
  const pkgs = await missingPackages(features);
  if (pkgs.length === 0) return;
  await aptInstall(pkgs, `prerequisites of ${features.join(', ')}`, log);
}

/** apt-get install, refreshing the package lists once if the first try fails (stale or absent
 * lists are the usual cause on a fresh machine). Waits for another apt to release its lock. */
export async function aptInstall(pkgs: string[], why: string, log: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new PrerequisiteError(`${why}: these Debian packages are missing: ${pkgs.join(' ')}; installing them needs root: run as root, or install them first (apt-get install ${pkgs.join(' ')})`);
  }
  // A long step like any other: a ticker with apt's latest line, its whole output in a log file
  // that a failure names (src/progress.ts).
  await step(log, `${why}: apt-get install ${pkgs.join(' ')}`, async (note) => {
    const install = ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...pkgs];
    let r = await apt(install, note);
    if (r.code !== 0) {
      log(`${why}: apt-get install failed; apt-get update, then again ...`);
      const u = await apt(['update', '-q', '-o', 'DPkg::Lock::Timeout=600'], note);
      r = u.code === 0 ? await apt(install, note) : u;
    }
    if (r.code !== 0) {
      const said = r.output.trim().split('\n').filter((l) => /^(E|W):|Unable|not/.test(l)).slice(-4).join('\n  ');
      throw new PrerequisiteError(
        `exit ${r.code}${said ? `:\n  ${said}` : ''}\n` +
        'Check the apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/) and the network, then run the same command again.',
      );
    }
  });
}

/** Runs apt-get; every line it prints goes to `note` (the step's ticker and log) as well. */
function apt(args: string[], note: Note): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (d: Buffer): void => {
      output += d;
      for (const line of String(d).split('\n')) if (line.trim() !== '') note(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => resolve({ code: 127, output: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
