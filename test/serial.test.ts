// Rolling batches (#13 item 6): how a play's hosts are cut into batches (Ansible's serial: a number,
// a percentage rounded down but at least 1, a list whose last size repeats), and a bad serial
// refused, naming the playbook and the play, before any host is contacted.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseSerial, serialBatches } from '../src/engine/serial.js';
import { runCli, tmp } from './helpers/lab.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);
const sizes = (n: number, serial: unknown) => serialBatches(hosts(n), parseSerial(serial)).map((b) => b.length);

t.test('batch sizes', async (t) => {
  t.same(serialBatches(hosts(5), undefined), [hosts(5)], 'no serial: one batch of every host');
  t.same(serialBatches([], parseSerial(2)), [], 'no hosts: no batch');
  t.same(serialBatches(hosts(5), parseSerial(2)), [['h1', 'h2'], ['h3', 'h4'], ['h5']], 'a number: batches in inventory order, the last one short');
  t.same(sizes(5, '2'), [2, 2, 1], 'a number as a string');
  t.same(sizes(3, 10), [3], 'a batch larger than the hosts: one batch');
  t.same(sizes(10, '30%'), [3, 3, 3, 1], '30% of 10 is 3');
  t.same(sizes(5, '30%'), [1, 1, 1, 1, 1], '30% of 5 is 1.5, rounded down');
  t.same(sizes(3, '10%'), [1, 1, 1], '10% of 3 rounds down to 0: at least 1');
  t.same(sizes(7, '50%'), [3, 3, 1], '50% of 7 is 3');
  t.same(sizes(4, '100%'), [4]);
  t.same(sizes(20, [1, 5, '20%']), [1, 5, 4, 4, 4, 2], 'a list: sizes in order, the last repeated (20% of all 20 hosts)');
  t.same(sizes(2, [1, 5, '20%']), [1, 1], 'the list outlasts the hosts');
  t.same(sizes(6, '1,2'), [1, 2, 2, 1], 'a comma-separated list (--serial 1,2)');
  t.same(parseSerial(' 30% '), ['30%']);
});

t.test('bad serial values', async (t) => {
  for (const bad of [0, -1, 2.5, 'abc', '', '0', '0%', '150%', '-10%', '2.5%', [], [1, 0], [[2]], { n: 2 }, true])
    t.throws(() => parseSerial(bad), /"serial" (.* is not a batch size|is an empty list)/, `refused: ${JSON.stringify(bad)}`);
});

t.test('the CLI refuses a bad serial before any host is contacted', async (t) => {
  // A host on 127.0.0.1 that counts connections: the run would connect to it at once otherwise.
  let connections = 0;
  const server = createServer((s) => { connections++; s.destroy(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const dir = tmp('sd-serial-');
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const inv = join(dir, 'hosts.yml');
  writeFileSync(inv, JSON.stringify({ all: { hosts: { h1: { ansible_host: '127.0.0.1', ansible_port: port, ansible_user: 'root', ansible_ssh_private_key_file: key } } } }));
  const task = join(dir, 'noop.mjs');
  writeFileSync(task, "export default { name: 'noop', plan: () => ({ status: 'ok', msg: '' }) };\n");
  const pb = (serial: unknown) => {
    const file = join(dir, `pb-${connections}-${JSON.stringify(serial).replace(/\W/g, '')}.yml`);
    writeFileSync(file, JSON.stringify([{ name: 'first', hosts: 'all', tasks: [task] }, { name: 'rolling', hosts: 'all', serial, tasks: [task] }]));
    return file;
  };
  for (const bad of [0, '150%', 'abc', []]) {
    const file = pb(bad);
    const r = await runCli(['run', file, '-i', inv, '--timeout', '5']);
    t.equal(r.code, 1, `serial ${JSON.stringify(bad)}: exit 1`);
    t.match(r.stderr, `ERROR! ${file}: play 2 ("rolling"): "serial" `, 'names the playbook file and the play');
    t.equal(r.stdout, '', 'nothing ran');
  }
  const flag = await runCli(['run', pb(2), '-i', inv, '--serial', '0', '--timeout', '5']);
  t.equal(flag.code, 1);
  t.match(flag.stderr, /^ERROR! --serial: "0" is not a batch size/);
  t.equal(connections, 0, 'no connection was opened');
  const good = await runCli(['run', pb(1), '-i', inv, '--timeout', '5']);
  t.equal(good.code, 4, 'control: a good serial runs, and the host (no SSH there) is unreachable');
  t.ok(connections > 0, `control: the run did connect (${connections})`);
});
