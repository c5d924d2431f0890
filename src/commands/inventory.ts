// `smbdirect inventory`: its options only; inventory-action.ts is loaded by the handler (#14).
import type { Argv } from 'yargs';
import { withInventory } from './common.js';

export const inventoryCommand = {
  command: 'inventory',
  describe: 'show the inventory as Ansible sees it (--list JSON with _meta.hostvars, --graph, or --host NAME with its resolved SSH connection)',
  builder: (y: Argv) =>
    withInventory(y)
      .option('list', { type: 'boolean', default: false })
      .option('graph', { type: 'boolean', default: false })
      .option('host', { type: 'string', describe: "one host's variables, plus smbdirect_connection: the SSH connection they and the ssh config resolve to" })
      .check((a) => (a.list || a.graph || a.host ? true : 'give --list, --graph or --host NAME')),
  handler: async (argv: unknown) => (await import('./inventory-action.js')).default(argv),
};
