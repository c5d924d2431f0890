// `lab up --bastion` for real: a lab whose hosts answer the controller only through the host
// `bastion`, as behind a real jump host. Each reachability claim has its negative control, and the
// lab's own check (checkBastion) is shown to fail when the lab is not what it claims.
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkBastion } from '../src/lab/bastion.js';
import { labPrefix, readState } from '../src/lab/state.js';
import { runCli, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 1, 1, { bastion: true });
const state = (await readState(lab.stateDir))!;
const host = (name: string) => state.hosts.find((h) => h.name === name)!;
const controller = state.bridgeCidr.split('/')[0]!;
const KEY = join(lab.stateDir, 'id_ed25519');
const KNOWN = join(lab.stateDir, 'known_hosts');
const CFG = join(lab.stateDir, 'ssh_config');
const env = { HOME: tmp('sd-bastion-home-') }; // no ~/.ssh/config, no known_hosts of the machine's own

/** The system OpenSSH client; nothing from ~/.ssh or /etc/ssh unless `args` says so. */
function ssh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ssh', ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', ...args], { timeout: 30_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
const direct = (address: string) => ssh(['-F', '/dev/null', '-i', KEY, '-o', `UserKnownHostsFile=${KNOWN}`, '-o', 'StrictHostKeyChecking=yes', `root@${address}`, 'hostname']);

t.test('the lab: bastion last, in group bastions; the SMB groups jump through it', async (t) => {
  t.same(state.hosts.map((h) => [h.name, h.group]), [['srv01', 'smb_servers'], ['cli01', 'smb_clients'], ['bastion', 'bastions']]);
  t.equal(state.bastion, true, 'recorded in the lab state');
  const inv = readFileSync(lab.inventory, 'utf8');
  const jump = `ansible_ssh_common_args: '-F ${CFG} -o ProxyJump=root@${host('bastion').address}'`;
  t.equal(inv.split(jump).length - 1, 2, 'once for smb_servers, once for smb_clients');
  t.match(inv, /\n {4}bastions:\n {6}hosts:\n {8}bastion: \{ ansible_host: [\d.]+ \}\n$/, 'the bastion has no ProxyJump');
  const show = await runCli(['inventory', '-i', lab.inventory, '--host', 'srv01'], { env });
  t.equal(show.code, 0, show.stderr);
  t.equal(JSON.parse(show.stdout).smbdirect_connection.route, `root@${host('bastion').address}:22 (${host('bastion').address}) -> root@${host('srv01').address}:22 (srv01)`);
});

t.test('negative control: a direct ssh to srv01 times out; the same ssh reaches the bastion', async (t) => {
  const r = await direct(host('srv01').address);
  t.not(r.code, 0, r.stdout);
  t.match(r.stderr, /Connection timed out|Operation timed out/);
  const b = await direct(host('bastion').address);
  t.equal(b.code, 0, b.stderr);
  t.equal(b.stdout, 'bastion\n');
});

t.test('smbdirect exec all: every host answers, the hidden ones through the bastion', async (t) => {
  const r = await runCli(['exec', 'all', '-i', lab.inventory, '--', 'hostname'], { env, deadlineMs: 60_000 });
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const name of ['srv01', 'cli01', 'bastion']) t.match(r.stdout, `${name} | CHANGED | rc=0 >>\n${name}\n`);
});

t.test('the same through our OpenSSH transport (smbdirect_ssh_client: openssh): its masters jump through the bastion', async (t) => {
  // A logging `ssh` first on PATH: proves the run went through the system client, and how.
  const bin = tmp('sd-bastion-bin-');
  const calls = join(bin, 'calls.log');
  writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${calls}\nexec /usr/bin/ssh "$@"\n`, { mode: 0o755 });
  const r = await runCli(['exec', 'all', '-i', lab.inventory, '-e', 'smbdirect_ssh_client=openssh', '--', 'hostname'], { env: { ...env, PATH: `${bin}:${process.env.PATH}` }, deadlineMs: 60_000 });
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const name of ['srv01', 'cli01', 'bastion']) t.match(r.stdout, `${name} | CHANGED | rc=0 >>\n${name}\n`);
  const masters = readFileSync(calls, 'utf8').split('\n').filter((l) => /(^| )-M( |$)/.test(l));
  t.equal(masters.length, 3, 'a master per host, each started by the system ssh');
  for (const name of ['srv01', 'cli01']) {
    t.ok(masters.some((l) => l.endsWith(`-- ${host(name).address}`) && l.includes(`ProxyJump=root@${host('bastion').address}`) && l.includes(`-F ${CFG}`)), `${name}: its master jumps through the bastion with the lab's ssh_config`);
  }
  const toBastion = masters.filter((l) => l.endsWith(`-- ${host('bastion').address}`));
  t.equal(toBastion.length, 1);
  t.notMatch(toBastion[0], /ProxyJump/, 'the bastion itself is reached directly');
});

/** The processes under `pid` (from /proc), with their command lines. */
function descendants(pid: number): Array<{ pid: number; cmd: string }> {
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      return [{ pid: Number(d), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() }];
    } catch { return []; }
  });
  const out: Array<{ pid: number; cmd: string }> = [];
  const walk = (p: number) => { for (const c of procs.filter((x) => x.ppid === p)) { out.push(c); walk(c.pid); } };
  walk(pid);
  return out;
}

t.test('a bastion session that dies during the run is opened again for the hosts that connect after it', async (t) => {
  // One host at a time: srv01 connects through the bastion and sleeps; meanwhile its bastion
  // session is killed (the sshd serving it on the bastion, by PID). srv01's own connection dies with
  // it; cli01 connects afterwards and must get a new session, not the dead one.
  const marker = join(lab.root('srv01'), 'tmp', 'bastion-kill-now');
  const run = runCli(['exec', 'srv01:cli01', '-i', lab.inventory, '--forks', '1', '--', 'if [ "$(hostname)" = srv01 ]; then touch /tmp/bastion-kill-now; sleep 8; fi; hostname'], { env, deadlineMs: 90_000 });
  const t0 = Date.now();
  while (!existsSync(marker) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  t.ok(existsSync(marker), 'srv01 runs its command through the bastion');
  const sessions = descendants(await lab.pid('bastion')).filter((p) => /^sshd: root/.test(p.cmd));
  t.ok(sessions.length > 0, `the bastion's sshd serves our session (${sessions.map((p) => p.cmd).join('; ')})`);
  for (const p of sessions) process.kill(p.pid, 'SIGKILL');
  const r = await run;
  t.match(r.stdout, /srv01 \| UNREACHABLE!/, 'srv01: its connection died with the bastion session');
  t.match(r.stdout, 'cli01 | CHANGED | rc=0 >>\ncli01\n', 'cli01: reached through a new bastion session');
  t.equal(r.code, 4, 'exit 4: a host unreachable');
});

t.test('the real OpenSSH client through -J, and with the inventory\'s own arguments', async (t) => {
  const j = await ssh(['-F', CFG, '-J', `root@${host('bastion').address}`, `root@${host('srv01').address}`, 'hostname']);
  t.equal(j.code, 0, j.stderr);
  t.equal(j.stdout, 'srv01\n');
  const inv = await ssh(['-F', CFG, '-o', `ProxyJump=root@${host('bastion').address}`, `root@${host('cli01').address}`, 'hostname']);
  t.equal(inv.code, 0, inv.stderr);
  t.equal(inv.stdout, 'cli01\n');
});

t.test('the lab\'s own check fails when the lab is not what it claims', async (t) => {
  const bastion = host('bastion');
  const srv01 = host('srv01');
  const route = (op: 'add' | 'del') => execFileSync('ip', ['-n', srv01.netns, 'route', op, 'blackhole', `${controller}/32`]);
  route('del');
  try {
    await t.rejects(checkBastion(lab.stateDir, bastion, srv01), /srv01 \([\d.]+\) accepts a direct connection from the controller/);
  } finally {
    route('add');
  }
  await t.resolves(checkBastion(lab.stateDir, bastion, srv01), 'and passes with the route back');
  t.match(readFileSync(join(srv01.dir, 'sshd.log'), 'utf8'), /Accepted publickey for root from [\d.]+/);
  await t.rejects(checkBastion(lab.stateDir, bastion, { ...srv01, name: 'cli01' }), /reached "srv01", not cli01/);
  const nowhere = `${controller.split('.').slice(0, 2).join('.')}.0.250`;
  await t.rejects(checkBastion(lab.stateDir, bastion, { ...srv01, address: nowhere }), /srv01 \([\d.]+\) does not answer through bastion/);
});

/** Alive and not a zombie (a killed host may wait a moment to be reaped by this process). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}

t.test('lab status shows the bastion; lab down leaves no namespace, link, mount or process', async (t) => {
  const st = await runCli(['lab', 'status', '--state-dir', lab.stateDir]);
  t.equal(st.code, 0, st.stderr);
  t.match(st.stdout, /^bastion +bastions +[\d.]+ +pid=\d+ alive$/m);
  t.match(st.stdout, /^bastion: true/m);
  const pids = [...st.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
  t.equal(pids.length, 3);
  const prefix = labPrefix(lab.stateDir);
  t.equal(readdirSync('/run/netns').filter((n) => n.startsWith(prefix)).length, 3, 'the control: three namespaces while up');

  const down = await runCli(['lab', 'down', '--state-dir', lab.stateDir]);
  t.equal(down.code, 0, down.stderr);
  const mine = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(lab.stateDir);
    } catch {
      return false;
    }
  });
  t.same({
    alive: pids.filter(running),
    netns: existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(prefix)) : [],
    links: readdirSync('/sys/class/net').filter((n) => n.startsWith(prefix)),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(lab.stateDir)),
    processes: mine,
    stateDir: existsSync(lab.stateDir),
  }, { alive: [], netns: [], links: [], mounts: [], processes: [], stateDir: false });
});

t.test('CLI: --bastion is for the namespace lab only', async (t) => {
  const r = await runCli(['lab', 'up', '--vm', '--bastion', '--state-dir', tmp('sd-bastion-vm-')]);
  t.equal(r.code, 1);
  t.match(r.stderr, '--bastion is for the namespace lab, not --vm');
  const help = await runCli(['lab', '--help']);
  t.match(help.stdout, /--bastion\s+one more host, bastion/);
});
