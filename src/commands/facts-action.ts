// `smbdirect facts`, the implementation (its options are in facts.ts): the facts of each host, as
// a table, in one round trip per host.
import pLimit from 'p-limit';
import { selectHosts } from '../inventory/index.js';
import { ConnectionPool } from '../engine/pool.js';
import { gatherFacts } from '../engine/host-play.js';
import { cliPasswords } from './passwords.js';
import { handled, inventoryFrom, limitedHosts, UsageError } from './common.js';

function flatten(prefix: string, v: unknown, out: Array<[string, string]>): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, out);
  } else {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    out.push([prefix, s === undefined ? '' : s.length > 120 ? `${s.slice(0, 117)}...` : s]);
  }
}

export function factsTable(host: string, system: Record<string, unknown>): string {
  const rows: Array<[string, string]> = [];
  flatten('', system, rows);
  const w = Math.max(...rows.map(([k]) => k.length), 4);
  return [`== ${host} ==`, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join('\n');
}

export default handled(async (argv) => {
  const passwords = await cliPasswords(argv); // asked before the vault passwords, as in Ansible
  const { inv } = await inventoryFrom(argv);
  const names = argv.limit !== undefined ? await limitedHosts(inv, argv.limit, argv.inventory) : selectHosts(inv, 'all');
  if (names.length === 0) throw new UsageError('the inventory has no hosts');
  const pool = new ConnectionPool({ connectTimeoutMs: argv.timeout * 1000, acceptNewHostKeys: argv.acceptNewHostKeys, passwords });
  const limit = pLimit(argv.forks);
  let worst = 0;
  const all: Record<string, unknown> = {};
  const tables = await Promise.all(names.map((n) => limit(async () => {
    try {
      const facts = await gatherFacts(await pool.get(inv.hosts.get(n)!), [], inv.hosts.get(n)!);
      all[n] = facts.system;
      return factsTable(n, facts.system);
    } catch (e) {
      worst = 4;
      return `== ${n} ==\n  UNREACHABLE! ${(e as Error).message}`;
    }
  })));
  await pool.closeAll();
  process.stdout.write(argv.json ? JSON.stringify(all, null, 2) + '\n' : tables.join('\n\n') + '\n');
  return worst;
});
