// Ad-hoc commands, like `ansible PATTERN -a CMD`: the options only; exec-action.ts is loaded by the handler (#14).
import type { Argv } from 'yargs';
import { withConnection, withInventory } from './common.js';

export const execCommand = {
  command: 'exec <pattern> [command..]',
  describe: 'run an ad-hoc shell command on the matching hosts (after --)',
  builder: (y: Argv) => withConnection(withInventory(y)).positional('pattern', { type: 'string', demandOption: true }),
  handler: async (argv: unknown) => (await import('./exec-action.js')).default(argv),
};
