// Rolling batches (#13 item 6) on the namespace lab (1 server, 4 clients = 5 hosts): serial 2 runs
// batches of 2, 2, 1 one after another (each host records when its `sleep 1` started and ended,
// and when its handler ran; the hosts share the kernel's clock), handlers run within their batch,
// --forks bounds a batch, --max-fail-percent counts per batch, a PLAY banner per batch. Host files
// are read through the hosts' roots. Tasks are small modules written here.
import t from 'tap';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { maxOverlap, runCli, runJson, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 1, 4);
const addr = Object.fromEntries([...readFileSync(lab.inventory, 'utf8').matchAll(/^\s+(\w+): \{ ansible_host: ([\d.]+) \}$/gm)].map((m) => [m[1]!, m[2]!]));
const hosts = Object.keys(addr);
const LOGIN = { ansible_user: 'root', ansible_ssh_private_key_file: join(lab.stateDir, 'id_ed25519'), smbdirect_known_hosts: join(lab.stateDir, 'known_hosts') };
const STAMP = '/root/sd-serial-stamp';
const HANDLED = '/root/sd-serial-handler';
const AFTER = '/root/sd-serial-after';

function inventory(hostVars: Record<string, Record<string, unknown>> = {}): string {
  const file = join(tmp('sd-serial-inv-'), 'hosts.yml');
  writeFileSync(file, JSON.stringify({ all: { vars: { ...LOGIN, target_file: AFTER }, hosts: Object.fromEntries(hosts.map((h) => [h, { ansible_host: addr[h], ...hostVars[h] }])) } }));
  return file;
}

const dir = tmp('sd-serial-');
const task = (name: string, text: string): string => {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, text);
  return file;
};
const FAIL_IF = task('fail', `export default { name: 'test: fail where fail_here', plan: ({ vars }) => (vars.fail_here ? { status: 'fail', msg: 'fail_here is set' } : { status: 'ok', msg: '' }) };\n`);
const STAMPED = task('stamp', `export default { name: 'test: stamp', plan: () => ({ status: 'change', changes: [{ kind: 'command', desc: 'stamp', notify: ['test: handler'], cmd: '{ date +%s.%N; sleep 1; date +%s.%N; } > ${STAMP}' }] }) };
export const handlers = [{ name: 'test: handler', changes: () => [{ kind: 'command', desc: 'handled', cmd: 'date +%s.%N > ${HANDLED}' }] }];\n`);
const WRITE = task('write', `export default { name: 'test: write', reads: (v) => [v.target_file], plan: ({ vars }) => ({ status: 'change', changes: [{ kind: 'file', path: vars.target_file, content: 'after\\n' }] }) };\n`);
const playbook = (name: string, serial: unknown): string => {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, JSON.stringify([{ name: 'rolling', hosts: 'all', ...(serial === undefined ? {} : { serial }), tasks: [FAIL_IF, STAMPED] }, { name: 'after', hosts: 'all', tasks: [WRITE] }]));
  return file;
};

const fileOf = (h: string, f: string) => join(lab.root(h), f);
const clean = () => { for (const h of hosts) for (const f of [STAMP, HANDLED, AFTER]) rmSync(fileOf(h, f), { force: true }); };
const touched = (f: string) => hosts.filter((h) => existsSync(fileOf(h, f)));
interface Stamp { start: number; end: number; handled: number }
const stampOf = (h: string): Stamp => {
  const [start, end] = readFileSync(fileOf(h, STAMP), 'utf8').trim().split('\n').map(Number) as [number, number];
  return { start, end, handled: Number(readFileSync(fileOf(h, HANDLED), 'utf8')) };
};
const BATCHES = [hosts.slice(0, 2), hosts.slice(2, 4), hosts.slice(4)];

t.test('serial 2 on 5 hosts: batches of 2, 2, 1 in sequence, each with its handlers', async (t) => {
  clean();
  const pb = playbook('serial-2', 2);
  const r = await runJson(['run', pb, '-i', inventory(), '--forks', '5']);
  t.equal(r.code, 0, r.stderr);
  const s = Object.fromEntries(hosts.map((h) => [h, stampOf(h)]));
  for (let k = 0; k + 1 < BATCHES.length; k++) {
    const ended = Math.max(...BATCHES[k]!.map((h) => Math.max(s[h]!.end, s[h]!.handled)));
    const next = Math.min(...BATCHES[k + 1]!.map((h) => s[h]!.start));
    t.ok(next > ended, `batch ${k + 2} (${BATCHES[k + 1]}) starts after batch ${k + 1} (${BATCHES[k]}) ended, handlers included (${next} > ${ended})`);
  }
  for (const b of BATCHES) for (const h of b) t.ok(s[h]!.handled >= s[h]!.end, `${h}: its handler ran after its task`);
  t.equal(maxOverlap(BATCHES[0]!.map((h) => [s[h]!.start, s[h]!.end])), 2, 'the two hosts of a batch run at once (--forks 5)');
  t.same(touched(AFTER), hosts, 'the next play runs on every host');
  t.same(Object.keys(r.recap).sort(), [...hosts].sort());
  for (const h of hosts) t.same(r.recap[h], { ok: 6, changed: 3, unreachable: 0, failed: 0, skipped: 0 }, `${h}: one recap over all batches (facts, 2 tasks and a handler, facts and a task)`);

  const text = await runCli(['run', pb, '-i', inventory(), '--forks', '5']);
  t.equal(text.code, 0);
  t.equal(text.stdout.match(/^PLAY \[rolling\] \*+$/gm)?.length, 3, 'a PLAY banner per batch, as Ansible prints it');
  t.equal(text.stdout.match(/^PLAY \[after\] \*+$/gm)?.length, 1, 'a play without serial: one banner');
  t.equal(text.stdout.match(/^PLAY RECAP \*+$/gm)?.length, 1, 'one PLAY RECAP at the end');
  t.equal(text.stdout.match(/^RUNNING HANDLER \[test: handler\]/gm)?.length, 3, 'the handler reported in each batch');
  clean();
});

t.test('--serial on the command line, over the play keyword; --forks 1 serializes a batch', async (t) => {
  clean();
  const pb = playbook('serial-5', 5);
  const text = await runCli(['run', pb, '-i', inventory(), '--serial', '2', '--forks', '5']);
  t.equal(text.code, 0, text.stdout);
  t.equal(text.stdout.match(/^PLAY \[rolling\] \*+$/gm)?.length, 3, "--serial 2, not the play's serial 5: three batches");
  const s2 = Object.fromEntries(hosts.map((h) => [h, stampOf(h)]));
  const next = Math.min(...BATCHES[1]!.map((h) => s2[h]!.start));
  const ended = Math.max(...BATCHES[0]!.map((h) => s2[h]!.handled));
  t.ok(next > ended, `the 3rd host starts after the first two ended (${next} > ${ended})`);
  clean();
  const r = await runJson(['run', pb, '-i', inventory(), '--serial', '2', '--forks', '1']);
  t.equal(r.code, 0, r.stderr);
  const s = Object.fromEntries(hosts.map((h) => [h, stampOf(h)]));
  t.equal(maxOverlap(hosts.map((h) => [s[h]!.start, s[h]!.end])), 1, '--forks 1: one host at a time, within a batch of 2 too (the first test has 2 at once with --forks 5)');
  clean();
});

t.test('--max-fail-percent counts per batch; a batch that all failed stops the play', async (t) => {
  // The 3rd host fails: 1 of 5 (20%) of the play, but 1 of 2 (50%) of its batch.
  const inv = inventory({ [hosts[2]!]: { fail_here: true } });
  const pb = playbook('max-fail', 2);
  const run = async (p: string) => {
    clean();
    const r = await runJson(['run', pb, '-i', inv, '--max-fail-percent', p]);
    t.equal(r.code, 2, `--max-fail-percent ${p}: exit 2`);
    t.same(r.results.filter((x) => x.status === 'failed').map((x) => x.host), [hosts[2]]);
    return r;
  };
  const over = await run('49');
  t.same(touched(STAMP), [hosts[0], hosts[1], hosts[3]], '50% of batch 2 > 49%: the last batch never ran');
  t.same(touched(AFTER), [], 'and no later play ran');
  t.same(Object.keys(over.recap).sort(), hosts.slice(0, 4).sort(), 'the host never reached is not in the recap');
  const text = await runCli(['run', pb, '-i', inv, '--max-fail-percent', '49']);
  t.match(text.stdout, /NO MORE HOSTS LEFT: 1 of 2 hosts of the batch failed, over --max-fail-percent 49/);
  t.equal(text.stdout.match(/^PLAY \[rolling\] \*+$/gm)?.length, 2, 'two batches, two banners');
  t.notMatch(text.stdout, /PLAY \[after\]/);
  await run('50');
  t.same(touched(STAMP), [hosts[0], hosts[1], hosts[3], hosts[4]], 'control: 50% is not over 50%: the last batch runs');
  t.same(touched(AFTER), [hosts[0], hosts[1], hosts[3], hosts[4]], 'control: and the next play, on the hosts that did not fail');

  // Without --max-fail-percent: a batch in which every host failed ends the run.
  clean();
  const all = await runJson(['run', pb, '-i', inventory({ [hosts[0]!]: { fail_here: true }, [hosts[1]!]: { fail_here: true } })]);
  t.equal(all.code, 2);
  t.same([touched(STAMP), touched(AFTER)], [[], []], 'the first batch all failed: no later batch or play ran');
  t.same(Object.keys(all.recap).sort(), hosts.slice(0, 2).sort());
  clean();
  const some = await runJson(['run', pb, '-i', inventory({ [hosts[0]!]: { fail_here: true } })]);
  t.equal(some.code, 2);
  t.same(touched(STAMP), hosts.slice(1), 'control: one of the batch failed: the later batches ran');
  clean();
});
