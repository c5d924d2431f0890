// The truth tier end to end: two qemu VMs with Debian's STOCK kernel (no SMB Direct in it), the
// site playbook under smbdirect_kernel_policy=build-modules + siw takes them all the way: rebuilt
// modules installed (replacing a loaded stock ksmbd/cifs), soft RDMA link, ksmbd with
// multichannel, a vers=3.1.1,rdma mount through fstab, verify passing; a second run changes
// nothing; a file written on the client reads back identical on the server; after rebooting both
// VMs (server first, then the client) the link and the mount come back by themselves and verify
// passes again. Slow (TCG): ~20 minutes with warm caches. Fails, never skips, if VMs cannot start.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { cachedModules, ensureModulesBuilt } from '../src/kernel/remedy.js';
import { sshOpts, vmLabDown, vmLabStatus, vmLabUp } from '../src/lab/vm.js';
import { runJson, type JsonRun } from './helpers/lab.js';

t.setTimeout(60 * 60 * 1000);
const T0 = Date.now();
const log = (line: string) => process.stderr.write(`[${((Date.now() - T0) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
const pexec = promisify(execFile);

const stateDir = mkdtempSync(join('/var/lib/smbdirect-provision', 'vm-e2e-'));
const dir = mkdtempSync(join(tmpdir(), 'sd-vm-inv-'));
const secrets = mkdtempSync(join(tmpdir(), 'sd-vm-secret-'));
t.teardown(async () => {
  await vmLabDown({ stateDir, log }); // stops exactly the qemu processes it started (recorded PIDs)
  for (const d of [stateDir, dir, secrets]) rmSync(d, { recursive: true, force: true });
  log(`total ${((Date.now() - T0) / 1000).toFixed(0)}s`);
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function ssh(host: 'srv1' | 'cli1', script: string, ok = true, tries = 5): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await pexec('ssh', [...sshOpts(stateDir), '-p', String(ports[host]), 'root@127.0.0.1', script], { maxBuffer: 1 << 24, timeout: 300_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (ok && err.code === 255 && tries > 1) return sleep(3000).then(() => ssh(host, script, ok, tries - 1)); // sshd just (re)started
    if (ok) throw new Error(`${host}: ${script}: exit ${err.code}: ${err.stderr ?? ''}`);
    return { code: typeof err.code === 'number' ? err.code : 255, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
async function waitFor<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return log(`${what}: ${((Date.now() - t0) / 1000).toFixed(0)}s`), v;
    if (Date.now() - t0 > seconds * 1000) throw new Error(`${what}: not after ${seconds}s`);
    await sleep(3000);
  }
}

let ports: Record<string, number> = {};
let release = '';
let built!: NonNullable<ReturnType<typeof cachedModules>>;
async function setup(t: Test): Promise<void> {
const inventory = await vmLabUp({ stateDir, modules: false, log, bootTimeout: 600, serverRelease: 'bookworm', clientRelease: 'bookworm' }); // throws (the test fails) if the VMs cannot start
ports = Object.fromEntries((await vmLabStatus({ stateDir })).vms.map((v) => [v.name, v.sshPort]));
t.ok(ports.srv1 && ports.cli1, 'both VMs are up');

// The build-modules remedy is built on the controller BEFORE any play (the runner's job).
release = (await ssh('srv1', 'uname -r')).stdout.trim();
t.equal((await ssh('cli1', 'uname -r')).stdout.trim(), release, 'both VMs run the same kernel');
let t1 = Date.now();
await ensureModulesBuilt([release], log);
log(`ensureModulesBuilt(${release}): ${((Date.now() - t1) / 1000).toFixed(0)}s`);
built = cachedModules(release)!;

// Inventory: the lab's hosts plus group vars; the password file 0600 outside the inventory dir.
const pwFile = join(secrets, 'labuser.pw');
writeFileSync(pwFile, 'Vm-e2e-Pa55\n', { mode: 0o600 });
copyFileSync(inventory, join(dir, 'hosts.yml'));
t.match(readFileSync(inventory, 'utf8'), /srv1:[^]*smbdirect_server_address: 192\.168\.77\.10/, 'the server is mounted at its private address');
mkdirSync(join(dir, 'group_vars'));
writeFileSync(join(dir, 'group_vars', 'all.yml'), `smbdirect_kernel_policy: build-modules
smbdirect_rdma_mode: siw
smbdirect_fragment_dir: ${secrets}/kconfig
ksmbd_users:
  - name: labuser
    password_file: ${pwFile}
`);
writeFileSync(join(dir, 'group_vars', 'smb_servers.yml'), 'ksmbd_shares:\n  - name: share\n    path: /srv/smb/share\n    mode: "0777"\n');
writeFileSync(join(dir, 'group_vars', 'smb_clients.yml'), 'smb_mounts:\n  - server: srv1\n    share: share\n    path: /mnt/share\n    user: labuser\n    vers: "3.1.1"\n');
}
// A lab that cannot start, or a failed build, fails the test (never skips it); teardown still runs.
// In a subtest: the root test must have something pending across these long awaits (it ended early otherwise).
await t.test('VM lab up (stock kernels) and modules built on the controller', async (t) => { await setup(t); });

const run = async (playbook: string, ...extra: string[]): Promise<JsonRun> => {
  const t0 = Date.now();
  const r = await runJson(['run', playbook, '-i', dir, ...extra], undefined, 15 * 60_000);
  log(`run ${playbook}: exit ${r.code} in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  if (r.code !== 0) log(r.results.filter((x) => x.status === 'failed').map((x) => `${x.host} ${x.task}: ${x.msg}${x.report ? `\n${x.report}` : ''}`).join('\n'));
  return r;
};
const result = (r: JsonRun, host: string, task: RegExp) => r.results.find((x) => x.host === host && task.test(x.task));

if (release) {
await t.test('stock kernels: no SMB Direct, stock ksmbd and cifs loaded', async (t) => {
  await ssh('srv1', 'modprobe ksmbd');
  await ssh('cli1', 'modprobe cifs');
  t.match((await ssh('srv1', 'modinfo -n ksmbd')).stdout, /\/kernel\/fs\/smb\/server\/ksmbd\.ko/);
  t.notMatch((await ssh('srv1', 'modinfo -F depends ksmbd')).stdout, /rdma_cm/, 'the stock ksmbd has no SMB Direct');
  t.equal((await ssh('cli1', 'modinfo -n siw', false)).code !== 0, true, 'no siw in the stock kernel');
});

await t.test('site (build-modules, siw) takes the stock VMs all the way', async (t) => {
  const r = await run('site');
  t.equal(r.code, 0, 'site succeeds');
  for (const host of ['srv1', 'cli1']) {
    t.equal(result(r, host, /kernel modules/)?.status, 'changed', `${host}: modules installed`);
    t.equal(result(r, host, /verify/)?.status, 'ok', `${host}: verify passes`);
  }
  t.match(result(r, 'srv1', /kernel modules/)?.msg, /installed ksmbd\.ko, siw\.ko .*replaced the loaded stock ksmbd.*taints the kernel/);
  t.match(result(r, 'cli1', /kernel modules/)?.msg, /installed cifs\.ko, siw\.ko .*replaced the loaded stock cifs/);
  t.match((await ssh('srv1', 'modinfo -n ksmbd siw')).stdout, new RegExp(`/lib/modules/${release}/updates/ksmbd.ko\\n/lib/modules/${release}/updates/siw.ko`));
  t.equal((await ssh('srv1', 'cat /sys/module/ksmbd/srcversion')).stdout.trim(), built.modules.ksmbd.srcversion, 'the rebuilt ksmbd is the loaded one');
  t.equal((await ssh('cli1', 'cat /sys/module/cifs/srcversion')).stdout.trim(), built.modules.cifs.srcversion, 'the rebuilt cifs is the loaded one');
  t.match((await ssh('srv1', 'cat /etc/ksmbd/ksmbd.conf')).stdout, /server multi channel support = yes/);
  t.match((await ssh('srv1', 'rdma link show siw0/1')).stdout, /state ACTIVE .*netdev eth1/);
  t.match((await ssh('cli1', 'grep " /mnt/share " /etc/fstab')).stdout, /^\/\/192\.168\.77\.10\/share \/mnt\/share cifs vers=3\.1\.1,rdma,/m);
  t.match((await ssh('cli1', 'grep " /mnt/share " /proc/mounts')).stdout, /vers=3\.1\.1,.*addr=192\.168\.77\.10,rdma,/);
  t.match((await ssh('cli1', 'dmesg')).stdout, /CIFS: VFS: RDMA transport established/);
});

await t.test('a second site run changes nothing', async (t) => {
  const r = await run('site');
  t.equal(r.code, 0);
  t.same(Object.fromEntries(Object.entries(r.recap).map(([h, s]) => [h, s.changed])), { srv1: 0, cli1: 0 });
});

await t.test('a mount that really fails: exit 2, fstab restored byte for byte, the live mount untouched; then zero changes', async (t) => {
  const fstab = (await ssh('cli1', 'cat /etc/fstab')).stdout;
  const cifsMounts = async () => (await ssh('cli1', 'grep " cifs " /proc/mounts')).stdout;
  const before = await cifsMounts();
  // The kernel itself refuses the option value (cifs parses actimeo as a number): a real mount(2) failure.
  const share = { server: 'srv1', share: 'share', user: 'labuser', vers: '3.1.1' };
  const mounts = { smb_mounts: [{ ...share, path: '/mnt/share' }, { ...share, path: '/mnt/share-bad', options: ['actimeo=notanumber'] }] };
  const r = await run('client', '-e', JSON.stringify(mounts));
  t.equal(r.code, 2, 'exit 2');
  const failed = r.results.find((x) => x.host === 'cli1' && x.status === 'failed');
  t.match(failed?.msg, /share-bad/, 'the failed task names the mount that failed');
  t.equal((await ssh('cli1', 'cat /etc/fstab')).stdout, fstab, 'fstab: the old file, byte for byte');
  t.equal(await cifsMounts(), before, 'the live rdma mount is untouched, nothing else is mounted');
  const again = await run('client');
  t.equal(again.code, 0);
  t.equal(again.recap.cli1?.changed, 0, 'the inventory as it was: zero changes');
});

await t.test('a file written on the client reads back identical from the share path on the server', async (t) => {
  const a = (await ssh('cli1', 'head -c 8388608 /dev/urandom > /mnt/share/e2e.bin && sync && sha256sum /mnt/share/e2e.bin')).stdout.split(' ')[0];
  const b = (await ssh('srv1', 'sha256sum /srv/smb/share/e2e.bin')).stdout.split(' ')[0];
  t.match(a, /^[0-9a-f]{64}$/);
  t.equal(b, a);
});

await t.test('after rebooting both VMs the link and the mount come back, verify passes', async (t) => {
  const bootId = (h: 'srv1' | 'cli1') => ssh(h, 'cat /proc/sys/kernel/random/boot_id').then((r) => r.stdout.trim());
  // Servers first, as in a cluster: a client booting while its server is down gives up on the
  // mount (nofail, one attempt by systemd), see the report. The client unmounts first: Debian 12's
  // ksmbd (6.1) can hit a kernel BUG when a live SMB Direct mount reconnects while the server
  // boots (list_add double add in put_recvmsg after "rdma_accept: -104"; seen in CI, docs/reliability.md).
  await ssh('cli1', 'umount /mnt/share');
  for (const h of ['srv1', 'cli1'] as const) {
    const before = await bootId(h);
    await ssh(h, 'systemctl reboot', false);
    await waitFor(`${h} reboot to ssh`, 600, async () => ((await bootId(h)) !== before ? true : undefined));
    if (h === 'srv1') await waitFor('srv1 ksmbd active', 120, async () => ((await ssh('srv1', 'systemctl is-active ksmbd', false)).code === 0 ? true : undefined));
  }
  // The link comes up from its unit some time after sshd answers: wait for it, do not sample it.
  const active = /siw0\/1 state ACTIVE .*netdev eth1/;
  for (const h of ['srv1', 'cli1'] as const) {
    const link = await waitFor(`${h} siw0 back`, 180, async () => {
      const out = (await ssh(h, 'rdma link show siw0/1', false)).stdout;
      return active.test(out) ? out : undefined;
    });
    t.match(link, active, `${h}: siw0 back`);
  }
  const line = await waitFor('cli1 mount back', 300, async () => (await ssh('cli1', 'grep " /mnt/share cifs " /proc/mounts', false)).stdout.trim() || undefined)
    .catch(async (e: Error) => {
      // Say why: the boot's own mount attempt and the kernel's lines, from both sides.
      const why = (await ssh('cli1', 'systemctl status --no-pager mnt-share.mount; journalctl -b --no-pager -u mnt-share.mount | tail -20; dmesg | grep -E "CIFS|smbd|rdma" | tail -20', false)).stdout;
      const srv = (await ssh('srv1', 'systemctl status --no-pager ksmbd | head -5; dmesg | grep -E "ksmbd|BUG|rdma" | tail -20', false)).stdout;
      throw new Error(`${e.message}\n--- cli1\n${why}\n--- srv1\n${srv}`);
    });
  t.match(line, /,rdma,/);
  t.match((await ssh('cli1', 'dmesg')).stdout, /CIFS: VFS: RDMA transport established/);
  t.equal((await ssh('cli1', 'sha256sum /mnt/share/e2e.bin')).stdout.split(' ')[0], (await ssh('srv1', 'sha256sum /srv/smb/share/e2e.bin')).stdout.split(' ')[0], 'the file survives');
  const v = await run('verify');
  t.equal(v.code, 0, 'verify passes after the reboot');
  t.equal(result(v, 'cli1', /verify/)?.status, 'ok');
  t.equal(result(v, 'srv1', /verify/)?.status, 'ok');
});

await t.test('rxe: teardown, then site with smbdirect_rdma_mode=rxe mounts over soft RoCE', async (t) => {
  const down = await run('teardown');
  t.equal(down.code, 0, 'teardown succeeds');
  t.notMatch((await ssh('cli1', 'cat /proc/mounts')).stdout, / \/mnt\/share cifs /, 'unmounted');
  t.equal((await ssh('srv1', 'rdma link show siw0/1', false)).code !== 0, true, 'siw0 deleted');
  const r = await run('site', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(r.code, 0, 'site with rxe succeeds');
  for (const h of ['srv1', 'cli1'] as const) {
    t.match((await ssh(h, 'rdma link show rxe0/1')).stdout, /rxe0\/1 state ACTIVE .*netdev eth1/, `${h}: rxe0 on the private link`);
    t.equal(result(r, h, /verify/)?.status, 'ok', `${h}: verify passes over rxe`);
  }
  t.match((await ssh('cli1', 'grep " /mnt/share cifs " /proc/mounts')).stdout, /,rdma,/);
  const a = (await ssh('cli1', 'head -c 4194304 /dev/urandom > /mnt/share/rxe.bin && sync && sha256sum /mnt/share/rxe.bin')).stdout.split(' ')[0];
  t.equal((await ssh('srv1', 'sha256sum /srv/smb/share/rxe.bin')).stdout.split(' ')[0], a, 'a file written over rxe reads back identical');
  const again = await run('site', '-e', 'smbdirect_rdma_mode=rxe');
  t.same(Object.fromEntries(Object.entries(again.recap).map(([h, s]) => [h, s.changed])), { srv1: 0, cli1: 0 }, 'a second rxe run changes nothing');
});
}

if (release) {
await t.test('real ksmbd fails to restart after its config changed: exit 2, ksmbd.conf new and whole; healed, it converges', async (t) => {
  // The client unmounts first (a server restart under a live SMB Direct mount is not this test).
  t.equal((await run('teardown', '--limit', 'cli1')).code, 0, 'client torn down');
  // The fault: a volatile drop-in that makes every start of ksmbd.service fail.
  await ssh('srv1', 'mkdir -p /run/systemd/system/ksmbd.service.d && printf "[Service]\\nExecStartPre=/bin/false\\n" > /run/systemd/system/ksmbd.service.d/e2e-fault.conf && systemctl daemon-reload');
  const before = (await ssh('srv1', 'cat /etc/ksmbd/ksmbd.conf')).stdout;
  const global = ['-e', '{"smbdirect_rdma_mode": "rxe", "ksmbd_global": {"server string": "e2e fault"}}'];
  const r = await run('server', ...global);
  t.equal(r.code, 2, 'exit 2');
  t.equal(r.recap.srv1?.failed, 1, 'srv1 failed');
  t.match(r.results.find((x) => x.host === 'srv1' && x.status === 'failed')?.task, /restart ksmbd/, 'in the restart handler');
  const after = (await ssh('srv1', 'cat /etc/ksmbd/ksmbd.conf')).stdout;
  t.not(after, before, 'ksmbd.conf changed');
  t.match(after, /^# Managed by smbdirect-provision[^]*\n\[global\]\n(\t.*\n)*\tserver string = e2e fault\n(\t.*\n)*\n\[share\]\n(\t.*\n)+$/, 'ksmbd.conf: the new file, whole');
  t.equal((await ssh('srv1', 'systemctl is-active ksmbd', false)).stdout.trim(), 'failed', 'ksmbd is down, as the host says');
  await ssh('srv1', 'rm -rf /run/systemd/system/ksmbd.service.d && systemctl daemon-reload');
  const healed = await run('server', ...global);
  t.equal(healed.code, 0, 'healed: the next run succeeds');
  t.equal(result(healed, 'srv1', /ksmbd service/)?.status, 'changed', 'the service task starts ksmbd again (the handler is not needed)');
  t.equal((await ssh('srv1', 'systemctl is-active ksmbd')).stdout.trim(), 'active');
  const again = await run('server', ...global);
  t.equal(again.recap.srv1?.changed, 0, 'then zero changes');
});
}

if (release) {
await t.test('a dead server under a live RDMA mount: verify, site and teardown on its client end in bounded time, name the mount, and teardown detaches it', async (t) => {
  // A live mount again (the test before tore the client down), over rxe as the server now runs.
  t.equal((await run('client', '-e', 'smbdirect_rdma_mode=rxe')).code, 0, 'the client mounts again');
  t.match((await ssh('cli1', 'grep " /mnt/share cifs " /proc/mounts')).stdout, /,rdma,/);
  const timed = async (what: string, bound: number, ...args: Parameters<typeof run>) => {
    const t0 = Date.now();
    const r = await run(...args);
    const s = (Date.now() - t0) / 1000;
    t.ok(s < bound, `${what}: ended in ${s.toFixed(0)} s (bound ${bound} s)`);
    return r;
  };
  const deadRow = (r: JsonRun) => r.results.find((x) => x.host === 'cli1' && x.status === 'failed');

  // 1. ksmbd stopped: the server refuses, the client's statfs fails at once.
  await ssh('srv1', 'systemctl stop ksmbd');
  const refused = await timed('verify, ksmbd stopped', 120, 'verify', '--limit', 'cli1', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(refused.code, 2, 'verify fails');
  t.match(deadRow(refused)?.report, /mount \/mnt\/share\s+FAIL\s+\/\/192\.168\.77\.10\/share on \/mnt\/share \(server srv1\) does not answer: its statfs failed at once/);
  t.match(deadRow(refused)?.report, /smbdirect run teardown --limit cli1/, 'what to do');
  // Back: the mount recovers by itself, as the message says.
  await ssh('srv1', 'systemctl start ksmbd');
  await waitFor('cli1 mount answers again', 120, async () => ((await ssh('cli1', 'stat -f /mnt/share', false)).code === 0 ? true : undefined));
  t.equal((await timed('verify, ksmbd back', 120, 'verify', '--limit', 'cli1', '-e', 'smbdirect_rdma_mode=rxe')).code, 0, 'verify passes again');

  // 2. The server VM powered off (its qemu killed: no goodbye on the wire), under the live mount.
  const srv = (await vmLabStatus({ stateDir })).vms.find((v) => v.name === 'srv1' && v.alive);
  t.ok(srv, 'srv1 qemu is ours and alive');
  process.kill(srv!.pid, 'SIGKILL');
  // Over siw a plain statfs then blocks (seen by hand: still after 5 minutes); over rxe the client
  // may see the loss at once: either way the mount is dead (negative control), and the tool says so.
  t.not((await ssh('cli1', 'timeout -s KILL 10 stat -f /mnt/share', false)).code, 0, 'negative control: a plain statfs on the client fails or blocks');
  const v = await timed('verify, server off', 120, 'verify', '--limit', 'cli1', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(v.code, 2);
  t.match(deadRow(v)?.report, /\/\/192\.168\.77\.10\/share on \/mnt\/share \(server srv1\) does not answer: its statfs (got no answer within 5 s|failed at once)/);
  const site = await timed('site, server off', 300, 'site', '--limit', 'cli1', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(site.code, 2, 'site fails on the client');
  t.match(site.results.find((x) => x.host === 'cli1' && /cifs fstab and mount/.test(x.task))?.msg, /\/mnt\/share \(server srv1\) does not answer/);
  const fstab = (await ssh('cli1', 'cat /etc/fstab')).stdout;
  t.match(fstab, / \/mnt\/share cifs /, 'site changed nothing: the fstab line stays');
  const down = await timed('teardown, server off', 300, 'teardown', '--limit', 'cli1', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(down.code, 0, 'teardown succeeds');
  t.match(down.results.find((x) => x.host === 'cli1' && /teardown client/.test(x.task))?.msg, /unmounted \/mnt\/share/);
  t.notMatch((await ssh('cli1', 'cat /proc/mounts')).stdout, / cifs /, 'no cifs mount left');
  t.notMatch((await ssh('cli1', 'cat /etc/fstab')).stdout, /\/mnt\/share/, 'its fstab line removed');
  const again = await timed('teardown again', 300, 'teardown', '--limit', 'cli1', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(again.recap.cli1?.changed, 0, 'a second teardown changes nothing');
});
}
