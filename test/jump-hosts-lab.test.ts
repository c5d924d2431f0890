// Jump hosts on real hosts (the namespace lab): hosts the controller cannot reach, only through a
// bastion. Inside a host's network namespace a blackhole route to an address drops every reply to
// it, so a TCP connection from there never completes: srv03 ("node7") answers only its neighbours,
// not the controller; cli01 ("deep") answers only srv02 ("bastion2"), which answers srv01
// ("bastion1") but not the controller. Each case has its negative control. Host files are read
// through the hosts' roots, not our SSH code.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readState } from '../src/lab/state.js';
import { runCli, runJson, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 3, 1);
const state = (await readState(lab.stateDir))!;
const host = (name: string) => state.hosts.find((h) => h.name === name)!;
const addr = (name: string) => host(name).address;
const controller = state.bridgeCidr.split('/')[0]!;
const KEY = join(lab.stateDir, 'id_ed25519');
const KNOWN = join(lab.stateDir, 'known_hosts');

/** Drops, inside `name`'s namespace, every packet it sends to `to`: connections from `to` never complete. */
const refuseFrom = (name: string, to: string) => execFileSync('ip', ['-n', host(name).netns, 'route', 'add', 'blackhole', `${to}/32`]);
refuseFrom('srv03', controller);
refuseFrom('srv02', controller);
refuseFrom('cli01', controller);
refuseFrom('cli01', addr('srv01'));

const dir = tmp('sd-jump-');
const CFG = join(dir, 'ssh_config');
writeFileSync(join(dir, 'kh_empty'), '');
writeFileSync(CFG, [
  `Host bastion1`, `  HostName ${addr('srv01')}`,
  `Host bastion1-untrusted`, `  HostName ${addr('srv01')}`, `  UserKnownHostsFile ${dir}/kh_empty`,
  `Host bastion2`, `  HostName ${addr('srv02')}`, `  ProxyJump bastion1`,
  `Host node7 node7-direct`, `  HostName ${addr('srv03')}`,
  `Host node7`, `  ProxyJump bastion1`,
  `Host deep`, `  HostName ${addr('cli01')}`, `  ProxyJump bastion1,bastion2`,
  `Host deep-one-hop`, `  HostName ${addr('cli01')}`, `  ProxyJump bastion1`,
  `Host node7-cmd`, `  HostName ${addr('srv03')}`, `  ProxyCommand ssh -F ${CFG} -o BatchMode=yes -W %h:%p bastion1`,
  `Host node7-wrong`, `  HostName ${addr('srv03')}`, `  ProxyJump root@${addr('srv01')}:2222`,
  `Host node7-untrusted`, `  HostName ${addr('srv03')}`, `  ProxyJump bastion1-untrusted`,
  `Host *`, `  User root`, `  IdentityFile ${KEY}`, `  UserKnownHostsFile ${KNOWN}`, `  ConnectTimeout 4`, '',
].join('\n'));
const names = ['bastion2', 'node7', 'node7-direct', 'deep', 'deep-one-hop', 'node7-cmd', 'node7-wrong', 'node7-untrusted'];
const INV = join(dir, 'hosts.yml');
writeFileSync(INV, JSON.stringify({ all: { vars: { ansible_ssh_common_args: `-F ${CFG}` }, hosts: Object.fromEntries(names.map((n) => [n, {}])) } }));
const env = { HOME: tmp('sd-jump-home-') }; // no ~/.ssh/config, no known_hosts of the machine's own
const exec = (pattern: string, command: string, more: string[] = []) => runCli(['exec', pattern, '-i', INV, ...more, '--', command], { env });

t.test('negative control: the hosts behind the bastions cannot be reached directly', async (t) => {
  const r = await exec('node7-direct', 'touch /tmp/reached-directly');
  t.equal(r.code, 4, r.stdout + r.stderr);
  t.match(r.stdout, /node7-direct \| UNREACHABLE! => timed out connecting to/);
  t.notOk(existsSync(join(lab.root('srv03'), 'tmp/reached-directly')));
  const oneHop = await exec('deep-one-hop', 'true');
  t.equal(oneHop.code, 4, 'deep answers bastion2 only, not bastion1');
  t.match(oneHop.stdout, `deep-one-hop | UNREACHABLE! => cannot reach deep-one-hop: bastion1 could not connect to ${addr('cli01')}:22 within 4s`);
});

t.test('smbdirect exec through ProxyJump, and through a chain of two', async (t) => {
  const r = await exec('node7,deep,bastion2', 'cat /etc/hostname');
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /node7 \| CHANGED \| rc=0 >>\nsrv03\n/);
  t.match(r.stdout, /deep \| CHANGED \| rc=0 >>\ncli01\n/);
  t.match(r.stdout, /bastion2 \| CHANGED \| rc=0 >>\nsrv02\n/);
});

t.test('smbdirect run through ProxyJump: changed, then nothing to change', async (t) => {
  const task = join(dir, 'write.mjs');
  writeFileSync(task, `export default { name: 'test: write', reads: () => ['/root/jumped'],
    plan: () => ({ status: 'change', changes: [{ kind: 'file', path: '/root/jumped', content: 'through the bastion\\n', mode: '0600' }] }) };\n`);
  const pb = join(dir, 'write.yml');
  writeFileSync(pb, JSON.stringify([{ name: 'write', hosts: 'node7:deep', tasks: [task] }]));
  const first = await runJson(['run', pb, '-i', INV], env);
  t.equal(first.code, 0, first.stderr);
  t.same([first.recap.node7?.changed, first.recap.deep?.changed], [1, 1]);
  t.equal(readFileSync(join(lab.root('srv03'), 'root/jumped'), 'utf8'), 'through the bastion\n');
  t.equal(readFileSync(join(lab.root('cli01'), 'root/jumped'), 'utf8'), 'through the bastion\n');
  const again = await runJson(['run', pb, '-i', INV], env);
  t.same([again.code, again.recap.node7?.changed, again.recap.deep?.changed], [0, 0, 0]);
});

/** Established TCP connections from this machine to ADDR:22 (ss, in the controller's namespace). */
const sessionsTo = (address: string) =>
  execFileSync('ss', ['-Htn', 'state', 'established', 'dst', `${address}:22`], { encoding: 'utf8' }).split('\n').filter(Boolean).length;

t.test('one session to a bastion, shared by every host behind it, closed at the end', async (t) => {
  const { openConnection } = await import('../src/connection/index.js');
  const { openHops } = await import('../src/connection/hops.js');
  const spec = (name: string) => ({ name, groups: [], vars: { ansible_ssh_common_args: `-F ${CFG}` } });
  const before = sessionsTo(addr('srv01'));
  const conns = await Promise.all(['node7', 'deep', 'bastion2'].map((n) => openConnection(spec(n), { timeoutMs: 5000, acceptNew: false })));
  t.equal(sessionsTo(addr('srv01')) - before, 1, 'three hosts behind bastion1: one TCP connection to it');
  t.equal(openHops(), 2, 'bastion1, and bastion2 (through bastion1) for deep');
  t.same((await Promise.all(conns.map((c) => c.run('cat /etc/hostname')))).map((r) => r.stdout.trim()), ['srv03', 'cli01', 'srv02']);
  await conns[0]!.close();
  t.equal(openHops(), 2, 'still in use by the others');
  await Promise.all(conns.slice(1).map((c) => c.close()));
  t.equal(openHops(), 0);
  t.equal(sessionsTo(addr('srv01')) - before, 0, 'the last close ends the bastion session');
});

t.test('ProxyCommand: ssh -W through the bastion; the command runs, no secret in any argv', async (t) => {
  const key = readFileSync(KEY, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
  const seen = new Map<number, string>();
  let running = true;
  const sampler = (async () => {
    for (; running; await new Promise((r) => setTimeout(r, 5))) {
      for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
          seen.set(Number(pid), `${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ')}\n${readFileSync(`/proc/${pid}/environ`, 'latin1')}`);
        } catch { /* gone */ }
      }
    }
  })();
  const r = await exec('node7-cmd,deep', 'cat /etc/hostname; sleep 1');
  running = false;
  await sampler;
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /node7-cmd \| CHANGED \| rc=0 >>\nsrv03\n/);
  const commands = [...seen.values()].filter((s) => s.startsWith(`ssh -F ${CFG} -o BatchMode=yes -W ${addr('srv03')}:22 bastion1 `));
  t.equal(commands.length, 1, 'the ProxyCommand ran, its tokens expanded (and the sampler sees our processes)');
  t.notOk([...seen.values()].some((s) => key.some((line) => s.includes(line))), 'no line of the private key in any argv or environment');
  t.notOk([...seen.values()].some((s) => / -W \S+ bastion2/.test(s) || /^ssh .*-J/.test(s)), 'ProxyJump starts no ssh process: the hops are ssh2 sessions in the CLI');
});

t.test('a hop that fails: named, exit 4, the host is not touched', async (t) => {
  const r = await exec('node7-wrong', 'touch /tmp/reached');
  t.equal(r.code, 4, r.stdout + r.stderr);
  t.match(r.stdout, `node7-wrong | UNREACHABLE! => cannot reach ${addr('srv01')} (jump host for node7-wrong): connection refused by ${addr('srv01')}:2222`);
  t.notOk(existsSync(join(lab.root('srv03'), 'tmp/reached')));
  const untrusted = await exec('node7-untrusted', 'touch /tmp/reached');
  t.equal(untrusted.code, 4);
  t.match(untrusted.stdout, new RegExp(`cannot reach bastion1-untrusted \\(jump host for node7-untrusted\\): host key for ${addr('srv01').replaceAll('.', '\\.')} is unknown \\(SHA256:.* not in ${dir}/kh_empty\\)`), 'host keys are checked on the hop too');
  t.notOk(existsSync(join(lab.root('srv03'), 'tmp/reached')));
  const show = await runCli(['inventory', '-i', INV, '--host', 'deep'], { env });
  const c = JSON.parse(show.stdout).smbdirect_connection;
  t.equal(c.route, `root@${addr('srv01')}:22 (bastion1) -> root@${addr('srv02')}:22 (bastion2) -> root@${addr('cli01')}:22 (deep)`);
});
