// The yargs command line: what parses every command line fast-argv.ts does not, renders --help
// (help-text.ts holds the top-level text it renders, for start-up without yargs) and words the
// usage errors.
import yargs, { type CommandModule } from 'yargs';
import type { CommandDef } from './fast-argv.js';

export const NO_COMMAND = 'name a command: run, facts, inventory, exec or lab';

export function yargsCli(args: string[], commands: readonly CommandDef[]) {
  const cli = yargs(args)
    .scriptName('smbdirect')
    .parserConfiguration({ 'populate--': true });
  for (const c of commands) cli.command(c as unknown as CommandModule);
  cli
    .demandCommand(1, NO_COMMAND)
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
  return cli;
}
