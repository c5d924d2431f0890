// The lab end to end, for real: root, network namespaces, overlay roots, sshd. No mocks. If
// the lab cannot start (not root, no overlayfs, ...) these tests fail rather than skip: a
// silently skipped lab test is how a broken lab ships.

import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_LAB_DIR, labDown, labStatus, labUp } from '../src/lab/lab.js';
import { CACHE_ROOT } from '../src/paths.js';
import { baseImageKey, ensureBaseImage } from '../src/lab/rootfs.js';
import { labPrefix } from '../src/lab/state.js';

const base = mkdtempSync(path.join(tmpdir(), 'smbdlab-test-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A real ssh with the lab's key and known_hosts: strict host key checking, no prompts. */
function ssh(stateDir: string, user: string, address: string, command: string) {
  return run('ssh', [
    '-F', '/dev/null', '-i', path.join(stateDir, 'id_ed25519'),
    '-o', `UserKnownHostsFile=${path.join(stateDir, 'known_hosts')}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
    `${user}@${address}`, command,
  ]);
}

/** Everything a lab leaves in the kernel and on disk, to prove labDown removed it all. */
function leftovers(stateDir: string, pids: number[]) {
  const prefix = labPrefix(stateDir);
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const alive = pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
    } catch {
      return false;
    }
  });
  return {
    alive,
    netns: existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(prefix)) : [],
    links: readdirSync('/sys/class/net').filter((n) => n.startsWith(prefix)),
    mounts: mountinfo.split('\n').filter((l) => l.split(' ')[4]?.startsWith(stateDir)),
    stateDir: existsSync(stateDir),
  };
}

const clean = { alive: [], netns: [], links: [], mounts: [], stateDir: false };

t.test('2 servers + 3 clients: real ssh, names, reachability, status, clean teardown', async (t) => {
  const stateDir = path.join(base, 'lab');
  t.teardown(() => labDown({ stateDir }));
  t.not(labPrefix(stateDir), labPrefix(DEFAULT_LAB_DIR), 'the test lab does not share names with the user lab');

  const lines: string[] = [];
  const inventory = await labUp({ servers: 2, clients: 3, stateDir, log: (l) => lines.push(l) });
  t.equal(inventory, path.join(stateDir, 'inventory', 'hosts.yml'));
  t.ok(lines.some((l) => /\.\.\. [\d.]+s$/.test(l)), 'progress lines carry elapsed times');

  const inv = readFileSync(inventory, 'utf8');
  t.match(inv, /^all:\n  vars:\n    ansible_user: root\n/);
  t.match(inv, `ansible_ssh_private_key_file: ${stateDir}/id_ed25519`);
  t.match(inv, `smbdirect_known_hosts: ${stateDir}/known_hosts`);
  const hosts = [...inv.matchAll(/^ {8}(\w+): \{ ansible_host: ([\d.]+) \}$/gm)].map((m) => ({ name: m[1]!, address: m[2]! }));
  t.same(hosts.map((h) => h.name), ['srv01', 'srv02', 'cli01', 'cli02', 'cli03']);
  t.ok(inv.indexOf('smb_servers:') < inv.indexOf('srv01') && inv.indexOf('smb_clients:') < inv.indexOf('cli01'));

  const kh = readFileSync(path.join(stateDir, 'known_hosts'), 'utf8');
  for (const h of hosts) {
    t.match(kh, new RegExp(`^${h.address.replace(/\./g, '\\.')} ssh-ed25519 AAAA`, 'm'));
    t.match(kh, new RegExp(`^${h.name} ssh-ed25519 AAAA`, 'm'));
  }

  // Every host, as root and as labuser (whose sudo needs no password), strict host keys.
  await Promise.all(hosts.map(async (h) => {
    const r = await ssh(stateDir, 'root', h.address, 'hostname; id -u; cat /etc/machine-id');
    t.equal(r.code, 0, `ssh root@${h.name}: ${r.stderr}`);
    const [name, uid, mid] = r.stdout.trim().split('\n');
    t.equal(name, h.name, `${h.name} hostname`);
    t.equal(uid, '0');
    t.match(mid, /^[0-9a-f]{32}$/, `${h.name} has its own machine-id`);
    const u = await ssh(stateDir, 'labuser', h.address, 'id -un && sudo -n true && sudo -n id -u');
    t.equal(u.code, 0, `ssh labuser@${h.name} + sudo -n: ${u.stderr}`);
    t.equal(u.stdout, 'labuser\n0\n');
  }));

  // Hosts reach each other by name over the lab bridge, from inside a client's namespace.
  const srv01 = hosts[0]!;
  const cli01 = hosts[2]!;
  const g = await ssh(stateDir, 'root', cli01.address, 'getent hosts srv01');
  t.equal(g.code, 0, g.stderr);
  t.match(g.stdout, new RegExp(`^${srv01.address.replace(/\./g, '\\.')}\\s+srv01`));
  const tcp = await ssh(stateDir, 'root', cli01.address,
    `python3 -c 'import socket; s = socket.create_connection(("srv01", 22), 5); print(s.recv(7).decode())'`);
  t.equal(tcp.code, 0, tcp.stderr);
  t.equal(tcp.stdout.trim(), 'SSH-2.0', 'cli01 reaches srv01:22');
  const bash = await ssh(stateDir, 'root', cli01.address, 'exec 3<>/dev/tcp/srv02/22 && head -c 7 <&3');
  t.equal(bash.stdout, 'SSH-2.0', 'cli01 reaches srv02:22 with bash /dev/tcp');
  const route = await ssh(stateDir, 'root', cli01.address, 'ip -4 route show default');
  t.equal(route.stdout.trim(), '', 'no default route inside a host');

  const st = await labStatus({ stateDir });
  t.equal(st.up, true);
  t.equal(st.inventory, inventory);
  t.same(st.hosts.map((h) => [h.name, h.group, h.alive]), [
    ['srv01', 'smb_servers', true], ['srv02', 'smb_servers', true],
    ['cli01', 'smb_clients', true], ['cli02', 'smb_clients', true], ['cli03', 'smb_clients', true],
  ]);
  const pids = st.hosts.map((h) => h.pid);
  t.ok(pids.every((p) => p > 1));

  await labDown({ stateDir, log: () => undefined });
  t.same(leftovers(stateDir, pids), clean, 'no PID alive, no netns, no links, no mounts, no state dir');
  t.ok(existsSync(CACHE_ROOT) && readdirSync(CACHE_ROOT).some((n) => n.startsWith('rootfs-')), 'base image stays cached');
  t.same(await labStatus({ stateDir }), { up: false, hosts: [] });
});

t.test('up over a running lab rebuilds it; down after an interrupted up cleans up', async (t) => {
  const stateDir = path.join(base, 'lab2');
  t.teardown(() => labDown({ stateDir }));
  await labUp({ servers: 1, clients: 0, stateDir });
  const first = (await labStatus({ stateDir })).hosts.map((h) => h.pid);

  await labUp({ servers: 1, clients: 1, stateDir });
  const second = await labStatus({ stateDir });
  t.equal(second.up, true);
  t.same(second.hosts.map((h) => h.name), ['srv01', 'cli01']);
  t.same(leftovers(stateDir, first).alive, [], 'the old lab was torn down first');

  // Simulate an `up` killed before any PID or host reached the state file: labDown must
  // still find the sshds (by their root under the state dir) and the netns/links (by prefix).
  const pids = second.hosts.map((h) => h.pid);
  const file = path.join(stateDir, 'state.json');
  const state = JSON.parse(readFileSync(file, 'utf8')) as { hosts: unknown[]; complete: boolean };
  state.hosts = [];
  state.complete = false;
  writeFileSync(file, JSON.stringify(state));
  await labDown({ stateDir });
  t.same(leftovers(stateDir, pids), clean, 'nothing left after an interrupted up');
  await labDown({ stateDir }); // and down is idempotent
});

t.test('an interrupted base image build is cleaned up and never used', async (t) => {
  const cache = path.join(base, 'cache');
  const key = baseImageKey();
  const stale = path.join(cache, `.rootfs-${key}.tmp-999999999`);
  mkdirSync(path.join(stale, 'proc'), { recursive: true });
  // What a build killed inside the chroot step leaves behind: a mount in the temp dir.
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(stale, 'proc')]);
  // A complete image (marker present) is used as is; no network needed for this test.
  const final = path.join(cache, `rootfs-${key}`);
  mkdirSync(final, { recursive: true });
  writeFileSync(path.join(final, '.smbdirect-lab-complete'), `${key}\n`);
  t.equal(await ensureBaseImage(cache, () => undefined), final);
  t.notOk(existsSync(stale), 'stale temp build removed');
  t.notOk(readFileSync('/proc/self/mountinfo', 'utf8').includes(stale), 'and unmounted');
});
