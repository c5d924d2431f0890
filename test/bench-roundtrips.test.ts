// The engine's SSH round trips per host, on a tiny real lab (1 server + 1 client). Not timed:
// the counts are what the benchmark's speed rests on (docs/benchmarks.md).
//  - sample: first run = facts + apply (2), second run = facts only (1).
//  - site (bench variables, kernel policy warn): per host and play at most 1 (facts) + 2 (apply)
//    on the first run, and at most 1 (facts) per play on the no-change run.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { YAML } from 'zx';
import { benchInventory, runJson, startLab } from './helpers/lab.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const lab = await startLab(t, 1, 1);
const hosts = { srv01: 'smb_servers', cli01: 'smb_clients' } as const;

t.test('sample: 2 round trips per host on the first run, 1 on the second', async (t) => {
  const first = await runJson(['run', 'sample', '-i', lab.inventory]);
  t.equal(first.code, 0, first.stderr);
  const second = await runJson(['run', 'sample', '-i', lab.inventory]);
  t.equal(second.code, 0, second.stderr);
  for (const h of Object.keys(hosts)) {
    t.equal(first.roundTrips[h], 2, `${h}: facts + apply`);
    t.equal(second.recap[h]?.changed, 0, `${h}: no change`);
    t.equal(second.roundTrips[h], 1, `${h}: facts only`);
  }
});

/** How many plays of a playbook a host of GROUP is in (patterns: groups joined by ':' or ','). */
function playsOf(playbook: string, group: string): number {
  const plays = YAML.parse(readFileSync(playbook, 'utf8')) as Array<{ hosts: string }>;
  return plays.filter((p) => p.hosts.split(/[:,]/).map((x) => x.trim()).some((g) => g === group || g === 'all')).length;
}

const site = join(ROOT, 'playbooks', 'site.yml');
t.test('site: at most 1 + 2 round trips per host and play; 1 per play with no change', async (t) => {
  if (!existsSync(site)) throw new Error(`${site} is missing: the site playbook is part of the product`);
  // The bench's inventory: the lab's hosts, group_vars from bench/vars.yml, password files.
  const args = ['run', 'site', '-i', benchInventory(lab), '-e', 'smbdirect_kernel_policy=warn'];
  // Exit 2 is expected in the lab: the read-only verify task fails (its kernel has no SMB Direct).
  const onlyVerifyFailed = (r: Awaited<ReturnType<typeof runJson>>) =>
    r.results.filter((x) => x.status === 'failed' || x.status === 'unreachable').every((x) => /verify/.test(x.task));
  const first = await runJson(args);
  t.ok([0, 2].includes(first.code) && onlyVerifyFailed(first), `first run: only verify may fail (exit ${first.code}) ${first.stderr}`);
  const second = await runJson(args);
  t.ok([0, 2].includes(second.code) && onlyVerifyFailed(second), `second run: only verify may fail (exit ${second.code})`);
  for (const [h, group] of Object.entries(hosts)) {
    const plays = playsOf(site, group);
    t.ok(plays >= 1, `${h} is in ${plays} play(s)`);
    t.ok(first.roundTrips[h]! >= plays && first.roundTrips[h]! <= 3 * plays, `${h}: first run ${first.roundTrips[h]} round trips, at most ${3 * plays} for ${plays} plays`);
    t.ok((first.recap[h]?.changed ?? 0) > 0, `${h}: the first run changed something`);
    t.equal(second.recap[h]?.changed, 0, `${h}: the second run changed nothing`);
    t.ok(second.roundTrips[h]! >= 1 && second.roundTrips[h]! <= plays, `${h}: no-change run ${second.roundTrips[h]} round trips: at most one (facts) per play`);
  }
});
