// `smbdirect lab up|down|status`: its options only; lab-action.ts (zx, the lab) is loaded by the handler (#14).
import type { Argv } from 'yargs';

/** vm-image.ts's VM_RELEASES, repeated so that --help loads no lab code (#14); test/lab-options.test.ts keeps them equal. */
export const VM_RELEASES = ['bookworm', 'trixie', 'trixie-backports'] as const;

export const labCommand = {
  command: 'lab <action>',
  describe: 'build, remove or show the built-in lab of real SSH hosts (Debian, as root)',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['up', 'down', 'status'] as const, demandOption: true })
      .option('servers', { type: 'number', default: 1, describe: 'hosts in smb_servers' })
      .option('clients', { type: 'number', default: 2, describe: 'hosts in smb_clients' })
      .option('state-dir', { type: 'string', describe: 'where the lab keeps its hosts and inventory' })
      .option('bastion', { type: 'boolean', default: false, describe: 'one more host, bastion: the others answer the controller only through it (ProxyJump in the inventory)' })
      .option('vm', { type: 'boolean', default: false, describe: "qemu VMs (1 server, 1 client) with Debian's stock kernel instead of namespaces" })
      .option('vm-modules', { type: 'boolean', default: false, describe: 'with --vm: preinstall the rebuilt SMB Direct modules' })
      .option('server-release', { choices: VM_RELEASES, default: 'trixie' as const, describe: "with --vm: srv1's Debian release (trixie-backports: trixie with the 7.x backports kernel)" })
      .option('rdma-links', { type: 'number', choices: [1, 2] as const, default: 1 as const, describe: 'with --vm: private links per VM; 2 adds eth2 on its own subnet and a soft RDMA link on each NIC (multichannel)' })
      .option('client-release', { choices: VM_RELEASES, default: 'trixie' as const, describe: "with --vm: cli1's Debian release" }),
  handler: async (argv: unknown) => (await import('./lab-action.js')).default(argv),
};
