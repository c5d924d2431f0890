// `smbdirect inventory`, the implementation (its options are in inventory.ts).
import { inventoryGraph, inventoryHost, inventoryList } from '../inventory/index.js';
import { redactValue } from '../secrets.js';
import { handled, inventoryFrom } from './common.js';

export default handled(async (argv) => {
  const { inv } = await inventoryFrom(argv);
  if (argv.host) {
    // ansible-inventory --host prints the host's variables; the resolved connection is added to them
    const vars = inventoryHost(inv, argv.host);
    // the SSH configuration and jump hosts are read for --host alone: --list and --graph never load them (#14)
    const { connectionSummary } = await import('../connection/options.js');
    const smbdirect_connection = connectionSummary(inv.hosts.get(argv.host)!, { timeoutMs: 10_000 });
    process.stdout.write(JSON.stringify(redactValue({ ...vars, smbdirect_connection }), null, 2) + '\n');
    return;
  }
  // vault-decrypted values are secrets: masked here as everywhere else
  process.stdout.write(argv.graph ? inventoryGraph(inv) + '\n' : JSON.stringify(redactValue(inventoryList(inv)), null, 2) + '\n');
});
