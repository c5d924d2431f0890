import type { Argv } from 'yargs';
import { inventoryGraph, inventoryList } from '../inventory/index.js';
import { handled, inventoryFrom, withInventory } from './common.js';

export const inventoryCommand = {
  command: 'inventory',
  describe: 'show the inventory as Ansible sees it (--list JSON with _meta.hostvars, or --graph)',
  builder: (y: Argv) =>
    withInventory(y)
      .option('list', { type: 'boolean', default: false })
      .option('graph', { type: 'boolean', default: false })
      .check((a) => (a.list || a.graph ? true : 'give --list or --graph')),
  handler: handled(async (argv) => {
    const { inv } = await inventoryFrom(argv);
    process.stdout.write(argv.graph ? inventoryGraph(inv) + '\n' : JSON.stringify(inventoryList(inv), null, 2) + '\n');
  }),
};
