// Per-VM identity for the truth tier, delivered as a tiny ext4 "seed" disk (vdb) that the image's
// smbdirect-seed.service copies over / at boot (see vm-image.ts). Why a seed disk: the shared
// image must stay generic and pristine, and writing into a qcow2 overlay from the controller
// would need nbd or guestfs. Why our own host keys: the controller then knows each VM's key
// before the first connection, so nothing is ever accepted blindly (StrictHostKeyChecking=yes).

import { $ } from 'zx';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type LabGroup = 'smb_servers' | 'smb_clients';
export interface VmSpec {
  name: string; // hostname and inventory name
  groups: LabGroup[]; // a VM of a release matrix serves and mounts
  octet: number; // last octet of the private address and of both MACs
}

/** The private link between the VMs (one segment: link-hub.ts): a /24 that exists only inside them. */
export const LINK = { prefix: '192.168.77', bits: 24, netdev: 'eth1' } as const;
/** The optional second private link (rdmaLinks: 2, for multichannel): its own hub and its own /24,
 * so the route to a server's second address leaves by the second NIC and the RDMA CM binds the
 * soft RDMA device on it (two NICs on one subnet would carry both channels on one NIC). */
export const LINK2 = { prefix: '192.168.78', bits: 24, netdev: 'eth2' } as const;
/** slirp's fixed guest address; static so boot does not wait for DHCP. */
const USER_NET = { address: '10.0.2.15/24', gateway: '10.0.2.2' } as const;

export const privateAddress = (vm: VmSpec): string => `${LINK.prefix}.${vm.octet}`;
export const secondAddress = (vm: VmSpec): string => `${LINK2.prefix}.${vm.octet}`;
/** Deterministic MACs: the seeded .network files match on them (user NIC :01:, private :02:, second private :03:). */
export const macs = (vm: VmSpec): { user: string; link: string; link2: string } => {
  const o = vm.octet.toString(16).padStart(2, '0');
  return { user: `52:54:00:77:01:${o}`, link: `52:54:00:77:02:${o}`, link2: `52:54:00:77:03:${o}` };
};

const sh = $({ quiet: true, verbose: false });

/** The controller's key for root@VM, made once per state dir. */
export async function ensureClientKey(stateDir: string): Promise<string> {
  const key = join(stateDir, 'id_ed25519');
  if (!existsSync(key)) await sh`ssh-keygen -q -t ed25519 -N ${''} -C smbdirect-vmlab -f ${key}`;
  return key;
}

/** Writes VMDIR/seed.img for one VM and returns its known_hosts line for `[127.0.0.1]:PORT`. */
export async function writeSeed(vmDir: string, vm: VmSpec, clientKey: string, sshPort: number): Promise<string> {
  const tree = join(vmDir, 'seed');
  await rm(tree, { recursive: true, force: true });
  const dir = async (path: string, mode: number): Promise<string> => {
    await mkdir(join(tree, path), { recursive: true });
    await chmod(join(tree, path), mode); // cp -a in the guest copies directory modes too
    return join(tree, path);
  };
  for (const d of ['root', 'root/etc', 'root/etc/ssh', 'root/etc/systemd', 'root/etc/systemd/network']) await dir(d, 0o755);
  await dir('root/root', 0o700);
  await dir('root/root/.ssh', 0o700);
  const hostKey = join(tree, 'root/etc/ssh/ssh_host_ed25519_key');
  await sh`ssh-keygen -q -t ed25519 -N ${''} -C ${`root@${vm.name}`} -f ${hostKey}`;
  const pub = await readFile(`${clientKey}.pub`, 'utf8');
  await writeFile(join(tree, 'root/root/.ssh/authorized_keys'), pub, { mode: 0o600 });
  const net = join(tree, 'root/etc/systemd/network');
  await writeFile(join(net, '10-lab-user.network'), network(macs(vm).user, `Address=${USER_NET.address}\nGateway=${USER_NET.gateway}`));
  await writeFile(join(net, '20-lab-link.network'), network(macs(vm).link, `Address=${privateAddress(vm)}/${LINK.bits}`));
  // Written always, used only when qemu gives the VM the second NIC (networkd ignores a MAC it never sees).
  await writeFile(join(net, '30-lab-link2.network'), network(macs(vm).link2, `Address=${secondAddress(vm)}/${LINK2.bits}`));
  await sh`truncate -s 16M ${join(vmDir, 'seed.img')}`;
  await sh`mkfs.ext4 -q -F -L smbdseed -d ${tree} ${join(vmDir, 'seed.img')}`;
  const [type, blob] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  return `[127.0.0.1]:${sshPort} ${type} ${blob}`;
}

/** A networkd file keyed by MAC, so interface naming cannot put an address on the wrong NIC.
 * No IPv6 autoconfiguration or link-local: the link stays quiet and addresses stay fixed. */
function network(mac: string, body: string): string {
  return `[Match]\nMACAddress=${mac}\n\n[Network]\n${body}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`;
}
