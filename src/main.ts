// What cli.ts runs once it has decided that a command runs (not --version or the plain --help):
// the command line parsed, the command's handler run, what escapes it reported. Loaded either as
// ES modules or, for `run`, from the one file the build makes of our code (scripts/bundle-run.mjs,
// run-bundle.ts): one copy of each module either way, so the interrupt handlers installed here are
// the ones the engine listens to.
import { reportError } from './errors.js';
import { COMMAND_NAMES, loadCommands } from './commands/all.js';
import { fastArgv } from './commands/fast-argv.js';

export { installInterruptHandlers } from './interrupt.js';

export async function main(args: string[]): Promise<void> {
  const fast = COMMAND_NAMES.includes(args[0]!) ? fastArgv(await loadCommands([args[0]!]), args) : undefined;
  try {
    if (fast) await fast.command.handler(fast.argv);
    else await (await import('./commands/yargs-cli.js')).yargsCli(args, await loadCommands()).parseAsync();
  } catch (e) {
    // What escapes a handler (or fail()'s rethrow): one ERROR! line, the stack only with SMBDIRECT_DEBUG.
    reportError(e);
    process.exitCode = 1;
  }
}
