// `smbdirect facts`: its options only; facts-action.ts is loaded by the handler (#14).
import type { Argv } from 'yargs';
import { withConnection, withInventory } from './common.js';

export const factsCommand = {
  command: 'facts',
  describe: 'gather and show the facts of each host',
  builder: (y: Argv) => withConnection(withInventory(y)).option('json', { type: 'boolean', default: false }),
  handler: async (argv: unknown) => (await import('./facts-action.js')).default(argv),
};
