// `smbdirect lab up|down|status`: the built-in lab of real SSH hosts on this machine.
import type { Argv } from 'yargs';
import { labDown, labStatus, labUp } from '../lab/lab.js';
import { handled } from './common.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

export const labCommand = {
  command: 'lab <action>',
  describe: 'build, remove or show the built-in lab of real SSH hosts (Debian, as root)',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['up', 'down', 'status'] as const, demandOption: true })
      .option('servers', { type: 'number', default: 1, describe: 'hosts in smb_servers' })
      .option('clients', { type: 'number', default: 2, describe: 'hosts in smb_clients' })
      .option('state-dir', { type: 'string', describe: 'where the lab keeps its hosts and inventory' }),
  handler: handled(async (argv) => {
    if (argv.action === 'up') {
      const inventory = await labUp({ servers: argv.servers, clients: argv.clients, stateDir: argv.stateDir, log });
      process.stdout.write(`${inventory}\n`);
    } else if (argv.action === 'down') {
      await labDown({ stateDir: argv.stateDir, log });
    } else {
      const s = await labStatus({ stateDir: argv.stateDir });
      if (!s.up) return process.stdout.write('lab is down\n'), 0;
      for (const h of s.hosts) process.stdout.write(`${h.name.padEnd(8)} ${h.group.padEnd(12)} ${h.address.padEnd(15)} pid=${h.pid} ${h.alive ? 'alive' : 'DEAD'}\n`);
      if (s.inventory) process.stdout.write(`${s.inventory}\n`);
      return s.hosts.every((h) => h.alive) ? 0 : 2;
    }
  }),
};
