// `smbdirect lab up|down|status`, the implementation (its options are in lab.ts): the built-in lab
// of real SSH hosts on this machine.
import { labDown, labStatus, labUp } from '../lab/lab.js';
import { vmLabDown, vmLabStatus, vmLabUp, type VmLabOpts } from '../lab/vm.js';
import { handled, UsageError } from './common.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

export default handled(async (argv) => {
  // The VM lab's hosts are reached on forwarded 127.0.0.1 ports: there is nothing to put behind a bastion.
  if (argv.vm && argv.bastion) throw new UsageError('lab: --bastion is for the namespace lab, not --vm');
  if (argv.vm) return vmAction(argv.action, argv.stateDir, argv.vmModules, { serverRelease: argv.serverRelease, clientRelease: argv.clientRelease, rdmaLinks: argv.rdmaLinks });
  if (argv.action === 'up') {
    const inventory = await labUp({ servers: argv.servers, clients: argv.clients, stateDir: argv.stateDir, bastion: argv.bastion, log });
    process.stdout.write(`${inventory}\n`);
  } else if (argv.action === 'down') {
    await labDown({ stateDir: argv.stateDir, log });
  } else {
    const s = await labStatus({ stateDir: argv.stateDir });
    if (!s.up) return process.stdout.write('lab is down\n'), 0;
    for (const h of s.hosts) process.stdout.write(`${h.name.padEnd(8)} ${h.group.padEnd(12)} ${h.address.padEnd(15)} pid=${h.pid} ${h.alive ? 'alive' : 'DEAD'}\n`);
    if (s.bastion) process.stdout.write('bastion: true (the other hosts answer only through bastion)\n');
    if (s.inventory) process.stdout.write(`${s.inventory}\n`);
    return s.hosts.every((h) => h.alive) ? 0 : 2;
  }
});

async function vmAction(action: string, stateDir: string | undefined, modules: boolean, releases: Pick<VmLabOpts, 'serverRelease' | 'clientRelease' | 'rdmaLinks'>): Promise<number> {
  if (action === 'up') process.stdout.write(`${await vmLabUp({ stateDir, log, modules, ...releases })}\n`);
  else if (action === 'down') await vmLabDown({ stateDir, log });
  else {
    const s = await vmLabStatus({ stateDir });
    for (const v of s.vms) process.stdout.write(`${v.name.padEnd(8)} ${(v.release ?? '').padEnd(17)} ${(v.kernel ?? '').padEnd(22)} ssh 127.0.0.1:${v.sshPort} pid=${v.pid} ${v.alive ? 'alive' : 'DEAD'}\n`);
    process.stdout.write(`${s.inventory}\n`);
    return s.vms.length > 0 && s.vms.every((v) => v.alive) ? 0 : 2;
  }
  return 0;
}
