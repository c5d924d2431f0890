// `smbdirect run`: its options only. The implementation (the engine, ssh2, handlebars, diff) is in
// run-action.ts, loaded by the handler, so --help and the other commands never load it (#14).
import type { Argv } from 'yargs';
import { withConnection, withInventory } from './common.js';

export const runCommand = {
  command: 'run <playbook>',
  describe: 'run a playbook (a name from playbooks/ or a path) on an inventory',
  builder: (y: Argv) =>
    withConnection(withInventory(y))
      .positional('playbook', { type: 'string', demandOption: true })
      .option('check', { alias: 'C', type: 'boolean', default: false, describe: 'plan only: change nothing on any host' })
      .option('diff', { alias: 'D', type: 'boolean', default: false, describe: 'show a unified diff of each changed file (secrets masked)' })
      .option('tags', { alias: 't', type: 'string', array: true, describe: 'only tasks with these tags' })
      .option('skip-tags', { type: 'string', array: true, describe: 'skip tasks with these tags' })
      .option('serial', { type: 'string', describe: 'rolling batches for every play: N hosts, P% of the play\'s hosts, or a list (1,5,20%); over the plays\' serial' })
      .option('max-fail-percent', { type: 'number', describe: 'stop after a play (with serial, a batch) in which more than this % of hosts failed' })
      .option('task-timeout', { type: 'number', describe: 'seconds a host may take for one round trip before it is marked unreachable' })
      .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout instead of text' })
      .option('report', { type: 'string', describe: 'write the cluster report (verify matrix, failures, kernels and modules, probe chart) to this HTML file' }),
  handler: async (argv: unknown) => (await import('./run-action.js')).default(argv),
};
