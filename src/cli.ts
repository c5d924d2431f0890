#!/usr/bin/env node
// smbdirect: SMB Direct provisioning over SSH. One typed module per command under commands/.
// Start-up is kept small (#14): this file and the command definitions load only yargs; each
// command's implementation (zx, ssh2, handlebars, diff, the engine) is imported by its handler.
import { readFileSync } from 'node:fs';
import { reportError } from './errors.js';
import { installInterruptHandlers } from './interrupt.js';

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  // What yargs would print, without loading yargs (a third of a bare start-up).
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  // Ctrl-C / SIGTERM: `run` winds down and prints its recap; other commands exit at once (#16).
  installInterruptHandlers();
  const [{ default: yargs }, { execCommand }, { factsCommand }, { inventoryCommand }, { labCommand }, { runCommand }] = await Promise.all([
    import('yargs'),
    import('./commands/exec.js'),
    import('./commands/facts.js'),
    import('./commands/inventory.js'),
    import('./commands/lab.js'),
    import('./commands/run.js'),
  ]);
  const cli = yargs(args)
    .scriptName('smbdirect')
    .parserConfiguration({ 'populate--': true })
    .command(runCommand)
    .command(factsCommand)
    .command(inventoryCommand)
    .command(execCommand)
    .command(labCommand)
    .demandCommand(1, 'name a command: run, facts, inventory, exec or lab')
    .strict()
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help() && ''}ERROR! ${msg}\nRun "smbdirect --help" for usage.\n`);
      process.exit(1);
    })
    .help();
  // After starting a command's handler, yargs renders the whole help text and keeps it, to show
  // should the handler fail: a third of `inventory --list`'s own CPU. Our fail() never shows it.
  // This reaches into yargs' internals, hence the guards: without them nothing changes.
  const usage = (cli as unknown as { getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?(): void } } })
    .getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
  try {
    await cli.parseAsync();
  } catch (e) {
    // What escapes a handler (or fail()'s rethrow): one ERROR! line, the stack only with SMBDIRECT_DEBUG.
    reportError(e);
    process.exitCode = 1;
  }
}
