// The truth tier: Debian VMs under qemu TCG, each booting its release's stock kernel (bookworm 6.1,
// trixie 6.12, trixie-backports 7.x: vm-image.ts), optionally with the rebuilt SMB Direct modules
// installed. By default srv1 serves and cli1 mounts (both trixie, or --server-release /
// --client-release); a test may name any set of VMs, e.g. a ring of releases where each serves
// and mounts. This is the only lab where modprobe, ksmbd, cifs and soft RDMA are real (the
// namespace lab shares our kernel).
//
// Network rule: each VM has (1) a slirp NIC with restrict=on, so it reaches nothing but the one
// forwarded SSH port on 127.0.0.1, and (2) a private link shared only with the other VMs, a qemu
// socket netdev over loopback to the lab's hub (link-hub.ts). RDMA runs over (2).
// Lifecycle: qemu -daemonize writes its own pidfile, the hub too; down stops exactly the recorded
// PIDs (after checking each still is ours), never anything found by name.

import { $ } from 'zx';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildSmbDirectModules } from '../kernel/build-modules.js';
import { buildVmImage, codenameOfVmRelease, type VmImage, type VmRelease } from './vm-image.js';
import { isOurHub, startLinkHub } from './link-hub.js';
import { noLog, step, type Log } from '../progress.js';
import { LINK, LINK2, ensureClientKey, macs, privateAddress, writeSeed, type LabGroup, type VmSpec } from './vm-seed.js';
import { CACHE_ROOT } from '../paths.js';
import { ensurePrerequisites } from '../prereqs.js';

export interface VmLabOpts {
  stateDir?: string;
  cacheDir?: string;
  log?: Log;
  /** Build (cached) and install cifs/ksmbd/siw with SMB Direct into both VMs. Default true. */
  modules?: boolean;
  /** Seconds to wait for SSH after starting qemu. TCG boots take 15-60 s. */
  bootTimeout?: number;
  /** The releases of the default srv1 and cli1 (default: DEFAULT_VM_RELEASE). */
  serverRelease?: VmRelease;
  clientRelease?: VmRelease;
  /** Instead of srv1 + cli1: these VMs (distinct names and octets). */
  vms?: LabVm[];
  /** Private links per VM: 1 (default), or 2 for multichannel (a second NIC, eth2, on a second
   * segment and subnet; the inventory then puts a soft RDMA link on each: smbdirect_rdma_netdev [eth1, eth2]). */
  rdmaLinks?: 1 | 2;
}
export interface LabVm extends VmSpec { release: VmRelease }
export interface VmState { name: string; pid: number; sshPort: number; dir: string; release?: VmRelease; kernel?: string }
interface Hub { pid: number; port: number; pidfile: string }
/** hub: the first private link's; hubs: every link's (hub repeated first), absent in older state files. */
interface LabState { images: VmImage[]; vms: VmState[]; hub?: Hub; hubs?: Hub[]; inventory: string }

/** What `npm start` and a bare `lab up --vm` boot: Debian's current stable. */
export const DEFAULT_VM_RELEASE: VmRelease = 'trixie';

function labVms(o: VmLabOpts): LabVm[] {
  if (o.vms?.length) return o.vms;
  return [
    { name: 'srv1', groups: ['smb_servers'], octet: 10, release: o.serverRelease ?? DEFAULT_VM_RELEASE },
    { name: 'cli1', groups: ['smb_clients'], octet: 11, release: o.clientRelease ?? DEFAULT_VM_RELEASE },
  ];
}
const sh = $({ quiet: true, verbose: false });
const defaults = (o: VmLabOpts) => ({
  stateDir: o.stateDir ?? '/var/lib/smbdirect-provision/vmlab',
  cacheDir: o.cacheDir ?? CACHE_ROOT,
  log: o.log ?? noLog,
});

/** Boots the lab (a no-op if it is already running) and returns the inventory path. */
export async function vmLabUp(opts: VmLabOpts = {}): Promise<string> {
  const { stateDir, cacheDir, log } = defaults(opts);
  const running = await vmLabStatus(opts);
  if (running.vms.length > 0 && running.vms.every((v) => v.alive)) {
    const links = (n: number) => (n > 1 ? ` with ${n} private links` : '');
    const want = labVms(opts).map((v) => `${v.name}=${v.release}`).join(' ') + links(opts.rdmaLinks ?? 1);
    const have = running.vms.map((v) => `${v.name}=${v.release ?? 'bookworm'}`).join(' ') + links(running.links);
    if (want !== have) throw new Error(`the VM lab is up with ${have}, not ${want}: stop it first (smbdirect lab down --vm), then start it again`);
    return log(`vm lab: already up (${have})`), running.inventory;
  }
  if (running.vms.length > 0) await vmLabDown(opts); // half a lab: start clean
  await ensurePrerequisites(['vm-lab'], log);
  await mkdir(stateDir, { recursive: true });
  const specs = labVms(opts);
  const images = new Map<VmRelease, VmImage>();
  for (const release of new Set(specs.map((v) => v.release))) images.set(release, await buildVmImage({ cacheDir, log, release }));
  const built = new Map<string, string[]>(); // kernel release -> its rebuilt .ko files
  if (opts.modules !== false) {
    for (const image of images.values()) {
      const b = await buildSmbDirectModules({ release: image.release, codename: codenameOfVmRelease(image.vmRelease ?? 'bookworm'), cacheDir: join(cacheDir, 'modules', image.release), log });
      built.set(image.release, Object.values(b.modules));
    }
  }
  const key = await ensureClientKey(stateDir);
  const hubs: Hub[] = [];
  for (const pidfile of ['hub.pid', 'hub2.pid'].slice(0, opts.rdmaLinks ?? 1).map((f) => join(stateDir, f))) {
    const port = await freePort();
    hubs.push({ pid: await startLinkHub(port, pidfile), port, pidfile });
  }
  const hub = hubs[0]!;
  const vms: VmState[] = [];
  const known: string[] = [];
  const imageOf = (vm: LabVm): VmImage => images.get(vm.release)!;
  try {
    for (const vm of specs) {
      const sshPort = await freePort();
      const dir = join(stateDir, vm.name);
      const image = imageOf(vm);
      known.push(await prepareDisk(dir, vm, key, sshPort, image));
      vms.push({ name: vm.name, sshPort, dir, release: vm.release, kernel: image.release, pid: await startQemu(dir, vm, sshPort, hubs.map((h) => h.port), image, vcpusOf(image, specs.length)) });
      log(`vm lab: ${vm.name} (${vm.release}, ${image.release}) qemu pid ${vms[vms.length - 1]?.pid}, ssh 127.0.0.1:${sshPort}, console ${join(dir, 'console.log')}`);
    }
    const inventory = join(stateDir, 'inventory.yml');
    await writeFile(join(stateDir, 'known_hosts'), `${known.join('\n')}\n`);
    await writeState(stateDir, { images: [...images.values()], vms, hub, hubs, inventory });
    await Promise.all(vms.map((v) => waitForSsh(stateDir, v, opts.bootTimeout ?? 300, log)));
    await Promise.all(vms.map(async (v, i) => {
      const release = imageOf(specs[i]!).release;
      const kos = built.get(release);
      if (kos) await installModules(stateDir, v, release, kos, log);
    }));
    await writeFile(inventory, renderInventory(stateDir, specs, vms, hubs.length));
    log(`vm lab: up; inventory ${inventory}`);
    return inventory;
  } catch (err) {
    await writeState(stateDir, { images: [...images.values()], vms, hub, hubs, inventory: '' });
    log('vm lab: start failed; stopping what was started (consoles kept for debugging)');
    await vmLabDown(opts);
    throw err;
  }
}

/** Stops exactly the recorded qemu processes; keeps consoles and overlays for debugging. */
export async function vmLabDown(opts: VmLabOpts = {}): Promise<void> {
  const { stateDir, log } = defaults(opts);
  const state = await readState(stateDir);
  if (!state) return log('vm lab: nothing recorded, nothing to stop');
  for (const vm of state.vms) {
    if (!(await isOurQemu(vm))) { log(`vm lab: ${vm.name} (pid ${vm.pid}) already gone`); continue; }
    process.kill(vm.pid, 'SIGTERM'); // qemu exits at once on SIGTERM; the overlay is disposable
    for (let i = 0; i < 50 && (await isOurQemu(vm)); i++) await sleep(200);
    if (await isOurQemu(vm)) process.kill(vm.pid, 'SIGKILL');
    log(`vm lab: stopped ${vm.name} (pid ${vm.pid})`);
  }
  for (const hub of state.hubs ?? (state.hub ? [state.hub] : [])) {
    if (!(await isOurHub(hub.pid, hub.pidfile))) continue;
    process.kill(hub.pid, 'SIGTERM');
    log(`vm lab: stopped the link hub (pid ${hub.pid})`);
  }
  await rm(join(stateDir, 'state.json'), { force: true });
}

/** links: the private links per VM (1 or 2). */
export interface VmLabStatus { inventory: string; links: number; vms: Array<VmState & { alive: boolean }> }

export async function vmLabStatus(opts: VmLabOpts = {}): Promise<VmLabStatus> {
  const state = await readState(defaults(opts).stateDir);
  if (!state) return { inventory: '', links: 0, vms: [] };
  const vms = await Promise.all(state.vms.map(async (v) => ({ ...v, alive: await isOurQemu(v) })));
  return { inventory: state.inventory, links: state.hubs?.length ?? 1, vms };
}

/** A fresh qcow2 overlay over the cached image (never written), plus this VM's seed disk. */
async function prepareDisk(dir: string, vm: VmSpec, key: string, sshPort: number, image: VmImage): Promise<string> {
  await mkdir(dir, { recursive: true });
  await rm(join(dir, 'disk.qcow2'), { force: true });
  await sh`qemu-img create -q -f qcow2 -F raw -b ${image.rootfs} ${join(dir, 'disk.qcow2')}`;
  return writeSeed(dir, vm, key, sshPort);
}

/**
 * vCPUs per VM. 7.x under TCG with two panicked at boot (int3 in set_next_task_fair, domain-notes
 * §8). And no more vCPU threads than twice the host's cores: three VMs with two each on this
 * 2-core machine starved one another during a simultaneous reboot (a bookworm VM logged soft
 * lockups of 20-74 s in udev and was still booting after 12 min); two VMs with two each boot fine.
 */
export function vcpusOf(image: Pick<VmImage, 'release'>, vmCount: number, hostCores = availableParallelism()): number {
  if (Number(/^(\d+)\./.exec(image.release)?.[1] ?? 0) >= 7) return 1;
  return vmCount <= hostCores ? 2 : 1; // two each, at most twice the cores in vCPU threads
}

async function startQemu(dir: string, vm: VmSpec, sshPort: number, hubPorts: number[], image: VmImage, vcpus: number): Promise<number> {
  const mac = macs(vm);
  const smp = String(vcpus);
  const append = ['root=/dev/vda', 'rw', 'console=ttyS0', 'net.ifnames=0', `systemd.hostname=${vm.name}`,
    `systemd.machine_id=${randomBytes(16).toString('hex')}`].join(' ');
  await rm(join(dir, 'qemu.pid'), { force: true });
  const args = [
    '-name', vm.name, '-accel', 'tcg', '-machine', 'pc', '-cpu', 'max', '-smp', smp, '-m', '1536',
    '-kernel', image.kernel, '-initrd', image.initrd, '-append', append,
    '-drive', `file=${join(dir, 'disk.qcow2')},if=virtio,format=qcow2`,
    '-drive', `file=${join(dir, 'seed.img')},if=virtio,format=raw,readonly=on`,
    '-netdev', `user,id=u,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`, '-device', `virtio-net-pci,netdev=u,mac=${mac.user}`,
    // One NIC per private link, in order (eth1, eth2: net.ifnames=0 names them by PCI order).
    ...hubPorts.flatMap((port, i) => ['-netdev', `socket,id=p${i},connect=127.0.0.1:${port}`, '-device', `virtio-net-pci,netdev=p${i},mac=${i ? mac.link2 : mac.link}`]),
    '-device', 'virtio-rng-pci', '-display', 'none', '-vga', 'none', '-monitor', 'none',
    '-serial', `file:${join(dir, 'console.log')}`, '-daemonize', '-pidfile', join(dir, 'qemu.pid'),
  ];
  await sh`qemu-system-x86_64 ${args}`; // returns once the daemon is initialised (or failed)
  return Number((await readFile(join(dir, 'qemu.pid'), 'utf8')).trim());
}

/** ssh/scp options for the lab: our key, our known_hosts, strict checking, no agent or config. */
export function sshOpts(stateDir: string): string[] {
  return ['-F', 'none', '-i', join(stateDir, 'id_ed25519'), '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(stateDir, 'known_hosts')}`,
    '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR'];
}
const sshArgs = (stateDir: string, port: number): string[] => [...sshOpts(stateDir), '-p', String(port)];

async function waitForSsh(stateDir: string, vm: VmState, timeout: number, log: Log): Promise<void> {
  await step(log, `vm lab: ${vm.name} boot to ssh`, async (note) => {
    const t0 = Date.now();
    while ((Date.now() - t0) / 1000 < timeout) {
      if (!(await isOurQemu(vm))) throw new Error(`${vm.name}: qemu exited during boot\n${await consoleTail(vm)}`);
      const r = await sh`ssh ${sshArgs(stateDir, vm.sshPort)} root@127.0.0.1 true`.nothrow();
      if (r.exitCode === 0) return;
      note(r.stderr.trim().split('\n').pop() ?? '');
      await sleep(2000);
    }
    throw new Error(`${vm.name}: no ssh after ${timeout}s\n${await consoleTail(vm)}`);
  }, 10);
}

/** Copies the rebuilt modules to /lib/modules/RELEASE/updates (depmod prefers updates/ over
 * the stock kernel/ tree) and reruns depmod, so modprobe and `rdma link add` find them. */
async function installModules(stateDir: string, vm: VmState, release: string, kos: string[], log: Log): Promise<void> {
  const dest = `/lib/modules/${release}/updates`;
  await step(log, `vm lab: ${vm.name} install modules into ${dest} + depmod`, async (note) => {
    await sh`ssh ${sshArgs(stateDir, vm.sshPort)} root@127.0.0.1 ${`mkdir -p ${dest}`}`;
    await sh`scp -q ${sshOpts(stateDir)} -P ${vm.sshPort} ${kos} ${`root@127.0.0.1:${dest}/`}`;
    note('depmod -a (about a minute under TCG)');
    await sh`ssh ${sshArgs(stateDir, vm.sshPort)} root@127.0.0.1 ${`depmod -a ${release}`}`;
  });
}

function renderInventory(stateDir: string, specs: LabVm[], vms: VmState[], links: number): string {
  const lines = [
    '# Written by smbdirect-provision vmLabUp: the truth-tier qemu VMs. Regenerated on every start.',
    'all:', '  vars:', '    ansible_user: root',
    `    ansible_ssh_private_key_file: ${join(stateDir, 'id_ed25519')}`,
    `    smbdirect_known_hosts: ${join(stateDir, 'known_hosts')}`,
    `    smbdirect_rdma_netdev: ${links > 1 ? `[${LINK.netdev}, ${LINK2.netdev}]` : LINK.netdev}`,
    '  children:',
  ];
  for (const group of ['smb_servers', 'smb_clients'] as const satisfies readonly LabGroup[]) {
    lines.push(`    ${group}:`, '      hosts:');
    for (const spec of specs.filter((v) => v.groups.includes(group))) {
      const vm = vms.find((v) => v.name === spec.name);
      lines.push(`        ${spec.name}:`, '          ansible_host: 127.0.0.1', `          ansible_port: ${vm?.sshPort ?? 0}`,
        `          smbdirect_private_address: ${privateAddress(spec)}`,
        `          smbdirect_lab_kernel_release: ${vm?.kernel ?? ''}`);
      // What clients mount from (the runner's smbdirect_cluster): the private link, where RDMA runs.
      if (spec.groups.includes('smb_servers')) lines.push(`          smbdirect_server_address: ${privateAddress(spec)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** True while PID is alive, not a zombie, and its command line names this VM's directory
 * (so a recycled PID is never signalled). */
async function isOurQemu(vm: VmState): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${vm.pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    const cmdline = (await readFile(`/proc/${vm.pid}/cmdline`, 'utf8')).split('\0');
    return cmdline[0]?.endsWith('qemu-system-x86_64') === true && cmdline.some((a) => a.includes(`${vm.dir}/`));
  } catch {
    return false;
  }
}

async function consoleTail(vm: VmState): Promise<string> {
  const path = join(vm.dir, 'console.log');
  if (!existsSync(path)) return '(no console log)';
  return `last console lines (${path}):\n${(await readFile(path, 'utf8')).split('\n').slice(-15).join('\n')}`;
}

async function readState(stateDir: string): Promise<LabState | undefined> {
  const path = join(stateDir, 'state.json');
  return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as LabState) : undefined;
}

const writeState = (stateDir: string, s: LabState): Promise<void> =>
  writeFile(join(stateDir, 'state.json'), `${JSON.stringify(s, null, 2)}\n`);

/** A port the kernel just gave us on 127.0.0.1 (tiny race until qemu binds it: acceptable here). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
