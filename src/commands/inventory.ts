// `smbdirect inventory`: its options only; inventory-action.ts is loaded by the handler (#14).
import type { Argv } from 'yargs';
import { withInventory } from './common.js';

export const inventoryCommand = {
  command: 'inventory',
  describe: 'show the inventory as Ansible sees it (--list JSON with _meta.hostvars, or --graph)',
  builder: (y: Argv) =>
    withInventory(y)
      .option('list', { type: 'boolean', default: false })
      .option('graph', { type: 'boolean', default: false })
      .check((a) => (a.list || a.graph ? true : 'give --list or --graph')),
  handler: async (argv: unknown) => (await import('./inventory-action.js')).default(argv),
};
