import type { Argv } from 'yargs';
import { runPlaybook } from '../engine/runner.js';
import { JsonReporter, TextReporter } from '../engine/output.js';
import { loadPlaybook } from '../playbook.js';
import { handled, inventoryFrom, withConnection, withInventory } from './common.js';

const list = (v: string[] | undefined) => (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);

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
      .option('max-fail-percent', { type: 'number', describe: 'stop after a play in which more than this % of hosts failed' })
      .option('task-timeout', { type: 'number', describe: 'seconds a host may take for one round trip before it is marked unreachable' })
      .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout instead of text' }),
  handler: handled(async (argv) => {
    const { inv, extraVars } = await inventoryFrom(argv);
    const pb = await loadPlaybook(argv.playbook);
    const reporter = argv.json ? new JsonReporter() : new TextReporter(argv.verbose ?? 0, argv.diff);
    const summary = await runPlaybook(pb, inv, {
      check: argv.check,
      limit: argv.limit,
      tags: list(argv.tags),
      skipTags: list(argv.skipTags),
      forks: argv.forks,
      maxFailPercent: argv.maxFailPercent,
      timeoutMs: argv.taskTimeout ? argv.taskTimeout * 1000 : undefined,
      connectTimeoutMs: argv.timeout * 1000,
      acceptNewHostKeys: argv.acceptNewHostKeys,
      extraVars,
      reporter,
    });
    return summary.code;
  }),
};
