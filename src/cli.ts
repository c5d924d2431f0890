#!/usr/bin/env node
// smbdirect: SMB Direct provisioning over SSH. One typed module per command under commands/.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { execCommand } from './commands/exec.js';
import { factsCommand } from './commands/facts.js';
import { inventoryCommand } from './commands/inventory.js';
import { labCommand } from './commands/lab.js';
import { runCommand } from './commands/run.js';

await yargs(hideBin(process.argv))
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
  .help()
  .parseAsync();
