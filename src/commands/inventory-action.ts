// `smbdirect inventory`, the implementation (its options are in inventory.ts).
import { inventoryGraph, inventoryList } from '../inventory/index.js';
import { handled, inventoryFrom } from './common.js';

export default handled(async (argv) => {
  const { inv } = await inventoryFrom(argv);
  process.stdout.write(argv.graph ? inventoryGraph(inv) + '\n' : JSON.stringify(inventoryList(inv), null, 2) + '\n');
});
