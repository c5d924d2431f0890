// `smbdirect lab up|down|status`: a lab of real SSH hosts on this one machine, each an
// overlayfs root over a cached Debian image with its own sshd in its own namespaces, on a
// private bridge. See docs lab notes (part A) for why it is built this way.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { BASTION, checkBastion, jumpArgs, writeSshConfig } from './bastion.js';
import { hostPaths, keygen, logTail, mountOverlay, startHost, waitForListening, waitForSsh, writeIdentity } from './hosts.js';
import { mountsUnder, unmountUnder } from './mounts.js';
import { chooseSubnet, createBridge, createHostNets, deleteNetwork, hostAddress, listLinks, listNetns } from './netns.js';
import { isAlive, killAndWait, pidsRootedUnder } from './proc.js';
import { ensureBaseImage } from './rootfs.js';
import { addSudoUser, makeSudoUser } from './sudo-user.js';
import {
  MARKER, StateStore, bridgeName, labPrefix, netnsName, readState, vethName,
  type Group, type HostState, type LabState,
} from './state.js';
import { noLog, requireRoot, sleep, timed } from './util.js';
import { ensurePrerequisites } from '../prereqs.js';
import { CACHE_ROOT } from '../paths.js';

export interface LabUpOptions {
  servers: number;
  clients: number;
  stateDir?: string;
  /** One more host, `bastion`, the only one the controller can reach (bastion.ts). */
  bastion?: boolean;
  log?: (line: string) => void;
}

export const DEFAULT_LAB_DIR = '/var/lib/smbdirect-provision/lab';

/**
 * Hosts prepared and started at once. The work is process spawns and sshd start-up, so
 * CPU-bound on this 2-core machine: 4, 8 and 16 measured within noise of each other (50 hosts
 * in 12-16 s under load from other jobs); 8 keeps a few spawns in flight without thrashing.
 */
const CONCURRENCY = 8;
const MAX_HOSTS = 500;

function hostName(group: Group, i: number): string {
  if (group === 'bastions') return BASTION;
  return `${group === 'smb_servers' ? 'srv' : 'cli'}${String(i).padStart(2, '0')}`;
}

function checkStateDir(stateDir: string): void {
  const depth = stateDir.split('/').filter(Boolean).length;
  const cache = path.resolve(CACHE_ROOT);
  if (depth < 2 || stateDir === cache || stateDir.startsWith(`${cache}/`) || cache.startsWith(`${stateDir}/`)) {
    throw new Error(`refusing to use ${stateDir} as a lab state dir`);
  }
}

/** Builds (or rebuilds) the lab and returns the path of the inventory it wrote. */
export async function labUp(opts: LabUpOptions): Promise<string> {
  const log = opts.log ?? noLog;
  requireRoot();
  const { servers, clients } = opts;
  for (const [what, n] of [['servers', servers], ['clients', clients]] as const) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`lab ${what} must be a whole number >= 0 (got ${n})`);
  }
  // The bastion counts towards the most hosts, not towards the one a lab needs (it would guard nothing).
  const extra = opts.bastion ? 1 : 0;
  if (servers + clients < 1 || servers + clients + extra > MAX_HOSTS) {
    throw new Error(`a lab needs between 1 and ${MAX_HOSTS - extra} hosts${extra ? ' besides the bastion' : ''} (got ${servers + clients})`);
  }
  const stateDir = path.resolve(opts.stateDir ?? DEFAULT_LAB_DIR);
  checkStateDir(stateDir);
  await ensurePrerequisites(['lab'], log);

  // An existing lab (complete, or left by an interrupted up) is replaced, never reused.
  const prefix = labPrefix(stateDir);
  if ((await readState(stateDir)) || (await exists(stateDir)) || (await listLinks(prefix)).length > 0
    || (await listNetns(prefix)).length > 0) {
    await timed(log, `tear down existing lab in ${stateDir}`, () => labDown({ stateDir, log: noLog }));
  }

  const baseImage = await ensureBaseImage(CACHE_ROOT, log);
  const subnet = await chooseSubnet(stateDir === path.resolve(DEFAULT_LAB_DIR), prefix);
  await fs.mkdir(path.join(stateDir, 'hosts'), { recursive: true, mode: 0o700 });
  await fs.writeFile(path.join(stateDir, MARKER), 'smbdirect-provision lab state dir; removed by `smbdirect lab down`\n');

  // The bastion comes last, so every other host keeps the address it has without --bastion.
  const groups: Array<[Group, number]> = [['smb_servers', servers], ['smb_clients', clients], ['bastions', opts.bastion ? 1 : 0]];
  const hosts: HostState[] = [];
  for (const [group, count] of groups) {
    for (let i = 1; i <= count; i++) {
      const n = hosts.length + 1;
      const name = hostName(group, i);
      hosts.push({
        name, group, address: hostAddress(subnet, n), netns: netnsName(prefix, name),
        veth: vethName(prefix, n), dir: path.join(stateDir, 'hosts', name),
      });
    }
  }
  const state: LabState = {
    version: 1, stateDir, prefix, bridge: bridgeName(prefix), bridgeCidr: `${subnet}.0.1/16`,
    baseImage, hosts, complete: false, ...(opts.bastion && { bastion: true }),
  };
  const bastion = hosts.find((h) => h.group === 'bastions');
  const controller = state.bridgeCidr.split('/')[0]!;
  // Only the hosts behind a bastion refuse the controller.
  const refuse = (h: HostState): string => (bastion && h !== bastion ? controller : '');
  // Recorded before anything is created, so labDown knows what to look for.
  const store = new StateStore(state);
  await store.save();

  try {
    const key = path.join(stateDir, 'id_ed25519');
    const controllerPub = await keygen(key, 'smbdirect-lab-controller');
    const sudoUser = await makeSudoUser(stateDir);
    await createBridge(state.bridge, state.bridgeCidr);

    await timed(log, `create ${hosts.length} network namespaces`, () => createHostNets(state.bridge, hosts));

    const hostKeys = new Map<string, string>();
    const limit = pLimit(CONCURRENCY);
    await timed(log, `start ${hosts.length} hosts (overlay, identity, sshd)`, () =>
      Promise.all(hosts.map((h) => limit(async () => {
        await mountOverlay(baseImage, h.dir);
        hostKeys.set(h.name, await writeIdentity(h, hosts, controllerPub));
        await addSudoUser(hostPaths(h.dir).root, sudoUser, controllerPub);
        const { pid, startTime } = await startHost(h, 16, refuse(h));
        h.pid = pid;
        h.startTime = startTime;
        await store.save();
      }))),
    );

    // known_hosts from the keys we generated: the controller never trusts on first use.
    const kh = hosts.flatMap((h) => {
      const [type, blob] = (hostKeys.get(h.name) ?? '').split(' ');
      return [`${h.address} ${type} ${blob}`, `${h.name} ${type} ${blob}`];
    });
    await fs.writeFile(path.join(stateDir, 'known_hosts'), `${kh.join('\n')}\n`);
    if (bastion) await writeSshConfig(stateDir);
    const inventory = await writeInventory(stateDir, hosts, bastion && jumpArgs(stateDir, bastion.address));
    state.inventory = inventory;

    const waitMs = 30_000 + 500 * hosts.length;
    await timed(log, `wait for ${hosts.length} sshd to accept connections`, () =>
      Promise.all(hosts.map(async (h) => {
        try {
          const isUp = () => isAlive(h.pid ?? -1, h.startTime);
          // The controller cannot connect to a host behind the bastion: its sshd's log says when it listens.
          await (refuse(h) ? waitForListening(h, waitMs, isUp) : waitForSsh(h.address, waitMs, isUp));
        } catch (err) {
          throw new Error(`${h.name}: ${(err as Error).message}\n${await logTail(h)}`);
        }
      })),
    );
    const behind = hosts.find((h) => h !== bastion);
    if (bastion && behind) {
      await timed(log, `check that ${behind.name} answers only through ${BASTION}`, () => checkBastion(stateDir, bastion, behind));
    }
    state.complete = true;
    await store.save();
    const via = bastion ? `, all behind ${BASTION} ${bastion.address}` : '';
    log(`lab up: ${servers} server(s), ${clients} client(s)${via} on ${state.bridge} ${state.bridgeCidr}`);
    return inventory;
  } catch (err) {
    // A half-built lab is worse than none: take it down, then report the original error.
    await store.save().catch(() => undefined);
    await labDown({ stateDir, log }).catch(() => undefined);
    throw err;
  }
}

/** `jump`: the ssh arguments of the SMB groups' hosts when they sit behind the bastion. */
async function writeInventory(stateDir: string, hosts: HostState[], jump?: string): Promise<string> {
  const dir = path.join(stateDir, 'inventory');
  await fs.mkdir(dir, { recursive: true });
  const group = (g: Group): string[] => {
    const members = hosts.filter((h) => h.group === g);
    const vars = jump && g !== 'bastions' ? ['      vars:', `        ansible_ssh_common_args: '${jump.replaceAll("'", "''")}'`] : [];
    if (members.length === 0) return [`    ${g}:`, '      hosts: {}', ...vars];
    return [`    ${g}:`, '      hosts:', ...members.map((h) => `        ${h.name}: { ansible_host: ${h.address} }`), ...vars];
  };
  const yml = [
    'all:',
    '  vars:',
    '    ansible_user: root',
    `    ansible_ssh_private_key_file: ${path.join(stateDir, 'id_ed25519')}`,
    `    smbdirect_known_hosts: ${path.join(stateDir, 'known_hosts')}`,
    '  children:',
    ...group('smb_servers'),
    ...group('smb_clients'),
    ...(hosts.some((h) => h.group === 'bastions') ? group('bastions') : []),
  ];
  const file = path.join(dir, 'hosts.yml');
  await fs.writeFile(file, `${yml.join('\n')}\n`);
  return file;
}

/**
 * Tears the lab down: kill recorded PIDs, unmount, delete netns/veths/bridge, remove the
 * state dir (the cached base image stays). Tolerates anything already gone, and works after
 * an interrupted `up` (state is incremental; leftovers are also found by name prefix).
 */
export async function labDown(opts: { stateDir?: string; log?: (line: string) => void } = {}): Promise<void> {
  const log = opts.log ?? noLog;
  requireRoot();
  const stateDir = path.resolve(opts.stateDir ?? DEFAULT_LAB_DIR);
  checkStateDir(stateDir);
  const prefix = labPrefix(stateDir);
  const state = await readState(stateDir);
  const hosts = state?.hosts ?? [];

  await timed(log, `stop ${hosts.length} hosts`, async () => {
    const recorded = hosts.flatMap((h) => (h.pid ? [{ pid: h.pid, startTime: h.startTime }] : []));
    let left = await killAndWait(recorded);
    // Safety net for hosts started but not yet recorded: anything chrooted into our overlays.
    left = left.concat(await killAndWait(await pidsRootedUnder(path.join(stateDir, 'hosts'))));
    if (left.length > 0) log(`warning: processes still alive after SIGKILL: ${left.join(' ')}`);
  });

  await timed(log, 'unmount host roots', () => unmountUnder(stateDir));

  await timed(log, 'delete network namespaces, veths and bridge', async () => {
    const bridge = state?.bridge ?? bridgeName(prefix);
    const netns = hosts.map((h) => h.netns);
    for (let i = 0; i < 20; i++) {
      await deleteNetwork(prefix, netns, bridge);
      // Veths disappear asynchronously with their namespace: re-list until all are gone.
      if ((await listLinks(prefix)).length === 0 && (await listNetns(prefix)).length === 0) return;
      await sleep(100);
    }
    log(`warning: leftover links/netns: ${[...(await listLinks(prefix)), ...(await listNetns(prefix))].join(' ')}`);
  });

  const left = await mountsUnder(stateDir);
  if (left.length > 0) throw new Error(`cannot remove ${stateDir}: still mounted: ${left.join(' ')}`);
  // Only a directory we marked as a lab state dir is deleted (never a mistyped path).
  if (await exists(path.join(stateDir, MARKER)) || (await exists(path.join(stateDir, 'state.json')))) {
    await fs.rm(stateDir, { recursive: true, force: true });
  } else if (await exists(stateDir)) {
    log(`note: ${stateDir} has no lab marker; left in place`);
  }
}

export async function labStatus(opts: { stateDir?: string } = {}): Promise<{
  up: boolean;
  hosts: Array<{ name: string; address: string; pid: number; alive: boolean; group: Group }>;
  inventory?: string;
  /** Made with --bastion (absent otherwise). */
  bastion?: boolean;
}> {
  const stateDir = path.resolve(opts.stateDir ?? DEFAULT_LAB_DIR);
  const state = await readState(stateDir);
  if (!state) return { up: false, hosts: [] };
  const hosts = await Promise.all(state.hosts.map(async (h) => ({
    name: h.name, address: h.address, pid: h.pid ?? 0, group: h.group,
    alive: h.pid ? await isAlive(h.pid, h.startTime) : false,
  })));
  const up = state.complete && hosts.length > 0 && hosts.every((h) => h.alive);
  const inventory = state.inventory && (await exists(state.inventory)) ? state.inventory : undefined;
  return { up, hosts, ...(inventory && { inventory }), ...(state.bastion && { bastion: true }) };
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}
