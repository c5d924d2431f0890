// The kernel matrix (#12): three qemu VMs, one per Debian kernel in use today, each booting its
// release's STOCK kernel (none has SMB Direct), in a ring where each serves the next and mounts
// from the one before, so every kernel serves and mounts across versions:
//   deb12 (bookworm 6.1)  mounts from bpo13 (7.x: the rollout case, an old client, a new server)
//   deb13 (trixie 6.12)   mounts from deb12
//   bpo13 (trixie-backports 7.x, smbdirect.ko) mounts from deb13
// `site` with build-modules (each release's modules built in its own build root) and siw takes
// them all the way; a second run changes nothing; a file written on each client reads back
// identical on its server; all three reboot AT ONCE and every mount comes back without a run;
// then the same with rxe, and teardown. Slow (TCG). Fails, never skips, if a VM cannot start.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { cachedModules } from '../src/kernel/remedy.js';
import { sshOpts, vmLabDown, vmLabStatus, vmLabUp, type LabVm } from '../src/lab/vm.js';
import { runJson, type JsonRun } from './helpers/lab.js';

t.setTimeout(90 * 60 * 1000);
const T0 = Date.now();
const log = (line: string) => process.stderr.write(`[${((Date.now() - T0) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
const pexec = promisify(execFile);

type Host = 'deb12' | 'deb13' | 'bpo13';
const both: LabVm['groups'] = ['smb_servers', 'smb_clients'];
const VMS: LabVm[] = [
  { name: 'deb12', release: 'bookworm', groups: both, octet: 21 },
  { name: 'deb13', release: 'trixie', groups: both, octet: 22 },
  { name: 'bpo13', release: 'trixie-backports', groups: both, octet: 23 },
];
const HOSTS = VMS.map((v) => v.name as Host);
/** Each client's server: the ring. */
const SERVER: Record<Host, Host> = { deb12: 'bpo13', deb13: 'deb12', bpo13: 'deb13' };
const address = (h: Host): string => `192.168.77.${VMS.find((v) => v.name === h)!.octet}`;

const stateDir = mkdtempSync(join('/var/lib/smbdirect-provision', 'vm-matrix-'));
const dir = mkdtempSync(join(tmpdir(), 'sd-matrix-inv-'));
const secrets = mkdtempSync(join(tmpdir(), 'sd-matrix-secret-'));
t.teardown(async () => {
  await vmLabDown({ stateDir, log }); // exactly the qemu processes and the hub it started (recorded PIDs)
  for (const d of [stateDir, dir, secrets]) rmSync(d, { recursive: true, force: true });
  log(`total ${((Date.now() - T0) / 1000).toFixed(0)}s`);
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ports: Record<string, number> = {};
const kernels: Record<string, string> = {};

async function ssh(host: Host, script: string, ok = true, tries = 5): Promise<{ code: number; stdout: string; stderr: string }> {
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
const run = async (playbook: string, ...extra: string[]): Promise<JsonRun> => {
  const t0 = Date.now();
  const r = await runJson(['run', playbook, '-i', dir, ...extra], undefined, 30 * 60_000);
  log(`run ${playbook} ${extra.join(' ')}: exit ${r.code} in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  if (r.code !== 0) log(r.results.filter((x) => x.status === 'failed').map((x) => `${x.host} ${x.task}: ${x.msg}${x.report ? `\n${x.report}` : ''}`).join('\n'));
  return r;
};
const result = (r: JsonRun, host: string, task: RegExp) => r.results.find((x) => x.host === host && task.test(x.task));
const changed = (r: JsonRun) => Object.fromEntries(Object.entries(r.recap).map(([h, s]) => [h, s.changed]));
/** The loaded NAME is the rebuilt one: its srcversion when the module has one (6.12's ksmbd has
 * none), else loaded while modinfo resolves NAME to updates/ (depmod prefers it; loaded after it). */
const loadedIsRebuilt = async (h: Host, name: string, srcversion: string | undefined): Promise<boolean> => {
  const r = await ssh(h, `cat /sys/module/${name}/srcversion 2>/dev/null; echo; test -d /sys/module/${name} && modinfo -n ${name}`, false);
  const [have, path] = r.stdout.split('\n').map((l) => l.trim());
  if (srcversion) return have === srcversion;
  return r.code === 0 && path === `/lib/modules/${kernels[h]}/updates/${name}.ko`;
};
const mountLine = async (h: Host) => (await ssh(h, 'grep " /mnt/ring cifs " /proc/mounts', false)).stdout.trim();

await t.test('three releases boot their stock kernels on one private link', async (t) => {
  const inventory = await vmLabUp({ stateDir, modules: false, log, bootTimeout: 900, vms: VMS });
  ports = Object.fromEntries((await vmLabStatus({ stateDir })).vms.map((v) => [v.name, v.sshPort]));
  for (const h of HOSTS) kernels[h] = (await ssh(h, 'uname -r')).stdout.trim();
  log(`kernels: ${JSON.stringify(kernels)}`);
  t.match(kernels.deb12, /^6\.1\.\d+-\d+-amd64$/, 'deb12 runs bookworm 6.1');
  t.match(kernels.deb13, /^6\.12\.\d+\+deb13-amd64$/, 'deb13 runs trixie 6.12');
  t.match(kernels.bpo13, /^7\.\d+\.\d+\+deb13-amd64$/, 'bpo13 runs the trixie-backports 7.x kernel');
  t.match((await ssh('bpo13', '. /etc/os-release; echo $VERSION_CODENAME')).stdout, /trixie/, 'bpo13: trixie userland');
  for (const h of HOSTS) {
    t.notMatch((await ssh(h, 'modinfo -F depends cifs', false)).stdout, /rdma_cm|smbdirect/, `${h}: the stock cifs has no SMB Direct`);
    t.match((await ssh(h, 'ip -4 -o addr show eth1')).stdout, new RegExp(`inet ${address(h).replace(/\./g, '\\.')}/24`), `${h}: its address on the private link`);
  }
  // Inventory: the lab's hosts (all in both groups), one share each, each client's mount names its server.
  const pwFile = join(secrets, 'ring.pw');
  writeFileSync(pwFile, 'Ring-Matrix-Pa55\n', { mode: 0o600 });
  copyFileSync(inventory, join(dir, 'hosts.yml'));
  mkdirSync(join(dir, 'group_vars'));
  mkdirSync(join(dir, 'host_vars'));
  writeFileSync(join(dir, 'group_vars', 'all.yml'), `smbdirect_kernel_policy: build-modules
smbdirect_rdma_mode: siw
smbdirect_fragment_dir: ${secrets}/kconfig
ksmbd_users:
  - name: ringuser
    password_file: ${pwFile}
ksmbd_shares:
  - name: ring
    path: /srv/smb/ring
    mode: "0777"
`);
  for (const h of HOSTS) {
    writeFileSync(join(dir, 'host_vars', `${h}.yml`), `smb_mounts:\n  - server: ${SERVER[h]}\n    share: ring\n    path: /mnt/ring\n    user: ringuser\n`);
  }
  t.match(readFileSync(inventory, 'utf8'), /deb12:[^]*smbdirect_server_address: 192\.168\.77\.21/);
});

await t.test('site (build-modules, siw): every kernel serves and mounts across versions', async (t) => {
  const r = await run('site');
  t.equal(r.code, 0, 'site succeeds');
  for (const h of HOSTS) {
    t.equal(result(r, h, /kernel modules/)?.status, 'changed', `${h}: rebuilt modules installed`);
    t.equal(result(r, h, /verify/)?.status, 'ok', `${h}: verify passes`);
    const built = cachedModules(kernels[h]!);
    t.ok(built, `${h}: modules for ${kernels[h]} in the controller's cache`);
    const manifest = JSON.parse(readFileSync(join(built!.dir, 'manifest.json'), 'utf8')) as { codename: string; gcc: { kernel: string; modules: string } };
    t.equal(manifest.codename, h === 'deb12' ? 'bookworm' : 'trixie', `${h}: built in its own release's build root`);
    t.ok(manifest.gcc.kernel.endsWith(manifest.gcc.modules), `${h}: built by the kernel's own compiler (${manifest.gcc.modules})`);
    for (const name of ['cifs', 'ksmbd'] as const) t.ok(await loadedIsRebuilt(h, name, built!.modules[name]?.srcversion), `${h}: the rebuilt ${name} is loaded`);
    t.match((await ssh(h, 'rdma link show siw0/1')).stdout, /state ACTIVE .*netdev eth1/, `${h}: siw0 on the private link`);
    t.match(await mountLine(h), new RegExp(`^//${address(SERVER[h]).replace(/\./g, '\\.')}/ring /mnt/ring cifs .*vers=3\\.1\\.1,.*,rdma,`), `${h}: mounted from ${SERVER[h]} over rdma`);
    t.match((await ssh(h, 'dmesg')).stdout, /CIFS: VFS: RDMA transport established/, `${h}: RDMA transport established`);
  }
  t.ok(cachedModules(kernels.bpo13!)?.modules.smbdirect, '7.x: smbdirect.ko built');
  t.ok(await loadedIsRebuilt('bpo13', 'smbdirect', cachedModules(kernels.bpo13!)?.modules.smbdirect?.srcversion), '7.x: the rebuilt smbdirect.ko is loaded');
  t.equal(cachedModules(kernels.deb13!)?.modules.smbdirect, undefined, '6.12: no smbdirect.ko (the RDMA code is inside cifs and ksmbd)');
});

await t.test('a second site run changes nothing', async (t) => {
  const r = await run('site');
  t.equal(r.code, 0);
  t.same(changed(r), { deb12: 0, deb13: 0, bpo13: 0 });
});

const roundTrip = async (t: Test, name: string): Promise<void> => {
  for (const h of HOSTS) {
    const a = (await ssh(h, `head -c 4194304 /dev/urandom > /mnt/ring/${name}-${h}.bin && sync && sha256sum /mnt/ring/${name}-${h}.bin`)).stdout.split(' ')[0];
    t.match(a, /^[0-9a-f]{64}$/);
    t.equal((await ssh(SERVER[h], `sha256sum /srv/smb/ring/${name}-${h}.bin`)).stdout.split(' ')[0], a, `${h} (${kernels[h]}) -> ${SERVER[h]} (${kernels[SERVER[h]]}): identical`);
  }
};
await t.test('a file written on each client reads back identical on its server', (t) => roundTrip(t, 'siw'));

await t.test('all three reboot at once: every link and mount comes back by itself', async (t) => {
  const bootIds = Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, (await ssh(h, 'cat /proc/sys/kernel/random/boot_id')).stdout.trim()])));
  await Promise.all(HOSTS.map((h) => ssh(h, 'systemctl reboot', false)));
  await Promise.all(HOSTS.map((h) => waitFor(`${h} reboot to ssh`, 900, async () => {
    const id = (await ssh(h, 'cat /proc/sys/kernel/random/boot_id', false, 1)).stdout.trim();
    return id && id !== bootIds[h] ? true : undefined;
  })));
  for (const h of HOSTS) {
    const line = await waitFor(`${h} mount back`, 600, async () => (await mountLine(h)) || undefined).catch(async (e: Error) => {
      const why = (await ssh(h, 'systemctl status --no-pager mnt-ring.mount; journalctl -b --no-pager -u mnt-ring.mount -u "smbdirect-remount@*" | tail -30; dmesg | grep -iE "CIFS|smbd|rdma" | tail -20', false)).stdout;
      throw new Error(`${e.message}\n${why}`);
    });
    t.match(line, /,rdma,/, `${h}: mounted again over rdma, without a run`);
    t.equal((await ssh(h, `sha256sum /mnt/ring/siw-${h}.bin`)).stdout.split(' ')[0], (await ssh(SERVER[h], `sha256sum /srv/smb/ring/siw-${h}.bin`)).stdout.split(' ')[0], `${h}: the file survives`);
  }
  const v = await run('verify');
  t.equal(v.code, 0, 'verify passes after the reboot');
});

await t.test('rxe: teardown, then site with smbdirect_rdma_mode=rxe; a second run changes nothing; teardown', async (t) => {
  const down = await run('teardown');
  t.equal(down.code, 0, 'teardown succeeds');
  for (const h of HOSTS) t.equal(await mountLine(h), '', `${h}: unmounted`);
  const r = await run('site', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(r.code, 0, 'site with rxe succeeds');
  for (const h of HOSTS) {
    t.match((await ssh(h, 'rdma link show rxe0/1')).stdout, /state ACTIVE .*netdev eth1/, `${h}: rxe0 on the private link`);
    t.equal(result(r, h, /verify/)?.status, 'ok', `${h}: verify passes over rxe`);
    t.match(await mountLine(h), /,rdma,/, `${h}: mounted over rdma (RoCE)`);
  }
  await roundTrip(t, 'rxe');
  const again = await run('site', '-e', 'smbdirect_rdma_mode=rxe');
  t.same(changed(again), { deb12: 0, deb13: 0, bpo13: 0 }, 'a second rxe run changes nothing');
  const end = await run('teardown', '-e', 'smbdirect_rdma_mode=rxe');
  t.equal(end.code, 0, 'teardown succeeds');
  for (const h of HOSTS) {
    t.equal(await mountLine(h), '', `${h}: unmounted`);
    t.notMatch((await ssh(h, 'cat /etc/fstab')).stdout, /\/mnt\/ring/, `${h}: its fstab line removed`);
  }
});
