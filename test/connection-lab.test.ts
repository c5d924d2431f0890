// Connections and run limits on the namespace lab (1 server, 4 clients): ansible_connection=local,
// where the known host keys come from (the UserKnownHostsFile of ansible_ssh_common_args, else
// ~/.ssh/known_hosts), login through a real ssh-agent, --max-fail-percent and --forks. Each case
// has a negative control, so it fails if the setting it tests were ignored. Host files are read
// through the hosts' roots, not our SSH code. Tasks are small modules written here (a playbook may
// name a task by absolute path).
import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { maxOverlap, runCli, runJson, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 1, 4);
const addr = Object.fromEntries([...readFileSync(lab.inventory, 'utf8').matchAll(/^\s+(\w+): \{ ansible_host: ([\d.]+) \}$/gm)].map((m) => [m[1]!, m[2]!]));
const hosts = Object.keys(addr);
const KEY = join(lab.stateDir, 'id_ed25519');
const KNOWN = join(lab.stateDir, 'known_hosts');
const LOGIN = { ansible_user: 'root', ansible_ssh_private_key_file: KEY, smbdirect_known_hosts: KNOWN };

/** An inventory of the lab's hosts (group all) with these vars; JSON is YAML. */
function inventory(vars: Record<string, unknown>, hostVars: Record<string, Record<string, unknown>> = {}): string {
  const file = join(tmp('sd-conn-inv-'), 'hosts.yml');
  writeFileSync(file, JSON.stringify({ all: { vars, hosts: Object.fromEntries(hosts.map((h) => [h, { ansible_host: addr[h], ...hostVars[h] }])) } }));
  return file;
}

// ---- task modules and playbooks ----
const dir = tmp('sd-conn-');
const task = (name: string, body: string): string => {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, `export default { name: ${JSON.stringify(`test: ${name}`)}, ${body} };\n`);
  return file;
};
const WRITE = task('write target_file', `reads: (v) => [v.target_file],
  plan: ({ vars }) => ({ status: 'change', changes: [{ kind: 'file', path: vars.target_file, content: 'written\\n', mode: '0640' }] })`);
const FAIL_IF = task('fail where fail_here', `plan: ({ vars }) => (vars.fail_here ? { status: 'fail', msg: 'fail_here is set' } : { status: 'ok', msg: '' })`);
const STAMP = '/root/sd-stamp';
const STAMPED = task('stamp', `plan: () => ({ status: 'change', changes: [{ kind: 'command', desc: 'stamp', cmd: '{ date +%s.%N; sleep 2; date +%s.%N; } > ${STAMP}' }] })`);
const playbook = (name: string, plays: Array<{ name: string; tasks: string[] }>): string => {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, JSON.stringify(plays.map((p) => ({ ...p, hosts: 'all' }))));
  return file;
};

const stampsOf = (text: string): [number, number] => text.trim().split('\n').map(Number) as [number, number];

t.test('ansible_connection=local: runs on the controller itself, no SSH', async (t) => {
  // Only a temp dir is written; the controller's caches go to a temp dir too.
  const env = { SMBDIRECT_CACHE_DIR: tmp('sd-local-cache-') };
  const inv = join(tmp('sd-local-inv-'), 'hosts.yml');
  writeFileSync(inv, 'all:\n  hosts:\n    ctl: { ansible_connection: local }\n');
  const who = await runCli(['exec', 'ctl', '-i', inv, '--', 'hostname; id -un'], { env });
  t.equal(who.code, 0, who.stdout + who.stderr);
  t.equal(who.stdout, `ctl | CHANGED | rc=0 >>\n${hostname()}\nroot\n`, 'the controller answers (ctl resolves nowhere: SSH would be unreachable)');
  const target = join(tmp('sd-local-target-'), 'local.txt');
  const pb = playbook('local', [{ name: 'local', tasks: [WRITE] }]);
  const first = await runJson(['run', pb, '-i', inv, '-e', `target_file=${target}`], env);
  t.equal(first.code, 0, first.stderr);
  t.same([first.recap.ctl!.changed, first.roundTrips.ctl], [1, 2], 'changed, in facts + apply');
  t.equal(readFileSync(target, 'utf8'), 'written\n');
  t.equal(statSync(target).mode & 0o777, 0o640);
  const again = await runJson(['run', pb, '-i', inv, '-e', `target_file=${target}`], env);
  t.same([again.code, again.recap.ctl!.changed, again.roundTrips.ctl], [0, 0, 1], 'the second run reads the file and changes nothing');
});

t.test('known_hosts: the UserKnownHostsFile of ansible_ssh_common_args, else ~/.ssh/known_hosts', async (t) => {
  const home = tmp('sd-home-'); // no ~/.ssh yet
  const env = { HOME: home };
  const login = { ansible_user: 'root', ansible_ssh_private_key_file: KEY };
  const exec = (inv: string) => runCli(['exec', 'srv01', '-i', inv, '--', 'hostname'], { env });
  const withArgs = (file: string) => inventory({ ...login, ansible_ssh_common_args: `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${file}` });
  const unknownIn = (file: string) => new RegExp(`srv01 \\| UNREACHABLE! => host key for ${addr.srv01!.replace(/\./g, '\\.')} is unknown \\(SHA256:[^)]*not in [^)]*${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

  const kh = join(tmp('sd-kh-'), 'lab_known_hosts');
  copyFileSync(KNOWN, kh);
  const viaArgs = await exec(withArgs(kh));
  t.equal(viaArgs.code, 0, viaArgs.stdout);
  t.match(viaArgs.stdout, /srv01 \| CHANGED \| rc=0 >>\nsrv01\n/, 'the host key is found in the UserKnownHostsFile');
  const empty = join(tmp('sd-kh-'), 'empty_known_hosts');
  writeFileSync(empty, '');
  const refused = await exec(withArgs(empty));
  t.equal(refused.code, 4, 'control: the same inventory with an empty file there is refused');
  t.match(refused.stdout, unknownIn(empty));

  const defaultFile = join(home, '.ssh/known_hosts');
  const none = await exec(inventory(login));
  t.equal(none.code, 4, 'control: no known_hosts given, and none in $HOME/.ssh');
  t.match(none.stdout, unknownIn(defaultFile));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  copyFileSync(KNOWN, defaultFile);
  const viaHome = await exec(inventory(login));
  t.equal(viaHome.code, 0, viaHome.stdout);
  t.match(viaHome.stdout, /srv01 \| CHANGED \| rc=0 >>\nsrv01\n/, 'the host key is found in $HOME/.ssh/known_hosts');
  t.equal(readFileSync(defaultFile, 'utf8'), readFileSync(KNOWN, 'utf8'), 'nothing was recorded');
});

t.test('login through an ssh-agent: no key file in the inventory', async (t) => {
  const sock = join(tmp('sd-agent-'), 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  t.teardown(() => { if (agent.exitCode === null) process.kill(agent.pid!, 'SIGTERM'); });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  const add = (...args: string[]) => execFileSync('ssh-add', args, { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' });
  add(KEY);
  t.match(add('-l').toString(), /ED25519/i, 'the lab key is in the agent');
  const home = tmp('sd-home-'); // no default key files either
  const inv = inventory({ ansible_user: 'root', smbdirect_known_hosts: KNOWN });
  const viaAgent = await runCli(['exec', 'all', '-i', inv, '--', 'id -un'], { env: { HOME: home, SSH_AUTH_SOCK: sock } });
  t.equal(viaAgent.code, 0, viaAgent.stdout);
  for (const h of hosts) t.match(viaAgent.stdout, `${h} | CHANGED | rc=0 >>\nroot\n`, `${h}: logged in with the agent's key`);
  const noAgent = await runCli(['exec', 'srv01', '-i', inv, '--', 'id -un'], { env: { HOME: home, SSH_AUTH_SOCK: undefined } });
  t.equal(noAgent.code, 4, 'control: without SSH_AUTH_SOCK there is no key to log in with');
  t.match(noAgent.stdout, /srv01 \| UNREACHABLE! => /);
  add('-D');
  const emptied = await runCli(['exec', 'srv01', '-i', inv, '--', 'id -un'], { env: { HOME: home, SSH_AUTH_SOCK: sock } });
  t.equal(emptied.code, 4, 'control: the agent without the key');
  t.match(emptied.stdout, /srv01 \| UNREACHABLE! => authentication refused/);
});

t.test('--max-fail-percent: more than P% of hosts failed, no later play runs on any host', async (t) => {
  // 2 of the 5 hosts fail the first play (40%); the second play writes a file on every host it runs on.
  const target = '/root/sd-after';
  const inv = inventory({ ...LOGIN, target_file: target }, { cli03: { fail_here: true }, cli04: { fail_here: true } });
  const pb = playbook('max-fail', [{ name: 'may fail', tasks: [FAIL_IF] }, { name: 'after', tasks: [WRITE] }]);
  const written = () => hosts.filter((h) => existsSync(join(lab.root(h), target)));
  const run = async (p: string) => {
    for (const h of hosts) rmSync(join(lab.root(h), target), { force: true });
    const r = await runJson(['run', pb, '-i', inv, '--max-fail-percent', p]);
    t.equal(r.code, 2, `--max-fail-percent ${p}: exit 2`);
    t.same(r.results.filter((x) => x.status === 'failed').map((x) => x.host).sort(), ['cli03', 'cli04']);
    return r;
  };
  const over = await run('39');
  t.same(over.results.filter((x) => x.task === 'test: write target_file'), [], '40% > 39%: the second play has no result on any host');
  t.same(written(), [], 'and wrote nothing anywhere');
  const text = await runCli(['run', pb, '-i', inv, '--max-fail-percent', '39']);
  t.match(text.stdout, /NO MORE HOSTS LEFT: 2 of 5 hosts failed, over --max-fail-percent 39/);
  t.notMatch(text.stdout, /PLAY \[after\]/);
  const at = await run('40');
  t.same(written(), ['srv01', 'cli01', 'cli02'], 'control: 40% is not over 40%: the second play runs on the hosts that did not fail');
  t.same(at.results.filter((x) => x.task === 'test: write target_file').map((x) => [x.host, x.status]), [['srv01', 'changed'], ['cli01', 'changed'], ['cli02', 'changed']]);
  for (const h of hosts) rmSync(join(lab.root(h), target), { force: true });
});

t.test('--forks N: at most N hosts worked on at once (run and exec)', async (t) => {
  // Each host records when its command started and ended (2 s apart): the hosts share the kernel's clock.
  const inv = inventory(LOGIN);
  const pb = playbook('stamp', [{ name: 'stamp', tasks: [STAMPED] }]);
  const runWith = async (forks: number) => {
    for (const h of hosts) rmSync(join(lab.root(h), STAMP), { force: true });
    const r = await runJson(['run', pb, '-i', inv, '--forks', String(forks)]);
    t.equal(r.code, 0, r.stderr);
    return maxOverlap(hosts.map((h) => stampsOf(readFileSync(join(lab.root(h), STAMP), 'utf8'))));
  };
  const two = await runWith(2);
  t.ok(two >= 1 && two <= 2, `run --forks 2: at most 2 hosts at once (${two})`);
  const all = await runWith(5);
  t.ok(all > 2, `control: run --forks 5 has more than 2 at once (${all}), so the measure can see it`);

  const execWith = async (forks: number) => {
    const r = await runCli(['exec', 'all', '-i', inv, '--forks', String(forks), '--', 'date +%s.%N; sleep 2; date +%s.%N']);
    t.equal(r.code, 0, r.stdout);
    return maxOverlap(hosts.map((h) => stampsOf(new RegExp(`${h} \\| CHANGED \\| rc=0 >>\\n([\\d.]+\\n[\\d.]+)`).exec(r.stdout)![1]!)));
  };
  const execTwo = await execWith(2);
  t.ok(execTwo >= 1 && execTwo <= 2, `exec --forks 2: at most 2 hosts at once (${execTwo})`);
  const execAll = await execWith(5);
  t.ok(execAll > 2, `control: exec --forks 5 has more than 2 at once (${execAll})`);
  for (const h of hosts) rmSync(join(lab.root(h), STAMP), { force: true });
});
