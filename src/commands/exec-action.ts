// `smbdirect exec`, the implementation (its options are in exec.ts): output and exit code per host.
import pLimit from 'p-limit';
import { BecomeError } from '../connection/become.js';
import { redact } from '../secrets.js';
import { colourOn, red, yellow } from '../colour.js';
import { selectHosts } from '../inventory/index.js';
import { ConnectionPool } from '../engine/pool.js';
import { cliPasswords } from './passwords.js';
import { handled, inventoryFrom, limitedHosts, UsageError } from './common.js';

export default handled(async (argv) => {
  const command = [...(argv.command ?? []), ...(argv['--'] ?? [])].join(' ');
  if (!command.trim()) throw new UsageError('no command given: smbdirect exec PATTERN -i INV -- COMMAND');
  const passwords = await cliPasswords(argv); // asked before the vault passwords, as in Ansible
  const { inv } = await inventoryFrom(argv);
  let names = selectHosts(inv, argv.pattern);
  if (argv.limit !== undefined) {
    const limited = new Set(await limitedHosts(inv, argv.limit, argv.inventory));
    names = names.filter((n) => limited.has(n));
  }
  if (names.length === 0) throw new UsageError(`no hosts matched "${argv.pattern}"`);
  const pool = new ConnectionPool({ connectTimeoutMs: argv.timeout * 1000, acceptNewHostKeys: argv.acceptNewHostKeys, passwords });
  const limit = pLimit(argv.forks);
  const on = colourOn(process.stdout);
  let worst = 0;
  const outs = await Promise.all(names.map((n) => limit(async () => {
    try {
      const conn = await pool.get(inv.hosts.get(n)!);
      const r = await conn.run(command);
      if (r.code !== 0) worst = Math.max(worst, 2);
      const head = r.code === 0 ? yellow(on, `${n} | CHANGED | rc=0 >>`) : red(on, `${n} | FAILED | rc=${r.code} >>`);
      return `${head}\n${(r.stdout + r.stderr).trimEnd()}`;
    } catch (e) {
      // a refused become password: the host answered, the command did not run (exit 2, as in a run)
      if (e instanceof BecomeError) return (worst = Math.max(worst, 2)), red(on, `${n} | FAILED! => ${e.message}`);
      worst = 4;
      return red(on, `${n} | UNREACHABLE! => ${(e as Error).message}`);
    }
  })));
  await pool.closeAll();
  process.stdout.write(redact(outs.join('\n')) + '\n');
  return worst;
});
