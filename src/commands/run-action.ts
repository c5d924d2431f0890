// `smbdirect run`, the implementation (its options are in run.ts).
import { runPlaybook } from '../engine/runner.js';
import { JsonReporter, TextReporter } from '../engine/output.js';
import { loadPlaybook } from '../playbook.js';
import { handled, inventoryFrom } from './common.js';

const list = (v: string[] | undefined) => (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);

export default handled(async (argv) => {
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
});
