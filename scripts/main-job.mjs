#!/usr/bin/env node
// `npm start`: the main job on a fresh Debian 12 machine as root. Boots the VM lab (two qemu VMs
// of Debian 13 trixie, the current stable, with its STOCK kernel, which lacks SMB Direct; other
// releases: `npm start -- --server-release R --client-release R`, R = bookworm, trixie or trixie-backports), then runs `site` with the build-modules
// remedy and soft iWARP, which takes them all the way to a vers=3.1.1,rdma mount and a passing
// verify table, then proves the data path with a file written on the client and read back on the
// server. Every long step prints progress with the elapsed time; re-runs reuse the caches
// (image, rebuilt modules) and the running VMs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}dist/src/cli.js`;
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
const step = (title, args, opts = {}) => {
  process.stderr.write(`\n==> [${elapsed()}] ${title}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: opts.capture ? ['inherit', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (opts.capture && opts.echo !== false) process.stdout.write(r.stdout ?? '');
  return r;
};

if (!existsSync(cli)) { // `npm ci` builds it (prepare); this covers a checkout without that step
  const b = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
  if (b.status !== 0) {
    process.stderr.write('npm start: the TypeScript build failed (see above); run `npm ci` first\n');
    process.exit(1);
  }
}
if (process.getuid?.() !== 0) {
  process.stderr.write('npm start needs root (it boots qemu VMs and installs the packages it needs): run it as root\n');
  process.exit(1);
}
// --server-release / --client-release go to `lab up --vm`; everything else to `run site`.
const args = process.argv.slice(2);
const labArgs = [];
const extra = [];
for (let i = 0; i < args.length; i++) {
  if (/^--(server|client)-release$/.test(args[i])) labArgs.push(args[i], args[++i] ?? '');
  else if (/^--(server|client)-release=/.test(args[i])) labArgs.push(args[i]);
  else extra.push(args[i]);
}
const up = step(`lab up --vm ${labArgs.join(' ')}: a server VM and a client VM (default Debian 13 trixie), stock kernel, a private link (TCG: first time ~15-20 min, then ~2 min)`, ['lab', 'up', '--vm', ...labArgs], { capture: true });
if (up.status !== 0) process.exit(up.status ?? 1);
const inventory = up.stdout.trim().split('\n').at(-1);
// The demo configuration beside the lab's inventory: one share, one user, one rdma mount. The
// password is random, kept 0600 outside the inventory's group_vars, and never shown.
const labDir = dirname(inventory);
const pw = join(labDir, 'demo-alice.pw');
if (!existsSync(pw)) writeFileSync(pw, `${randomBytes(12).toString('base64url')}\n`, { mode: 0o600 });
mkdirSync(join(labDir, 'group_vars'), { recursive: true });
const gv = (name, text) => writeFileSync(join(labDir, 'group_vars', name), text);
gv('all.yml', `smbdirect_kernel_policy: build-modules\nsmbdirect_rdma_mode: siw\nsmbdirect_fragment_dir: ${labDir}/kconfig\nksmbd_users:\n  - name: alice\n    password_file: ${pw}\n`);
gv('smb_servers.yml', 'ksmbd_shares:\n  - name: data\n    path: /srv/smb/data\n    mode: "0777"\n');
gv('smb_clients.yml', 'smb_mounts:\n  - server: srv1\n    share: data\n    path: /mnt/data\n    user: alice\n');

const run = step(`run site -i ${inventory} (smbdirect_kernel_policy=build-modules, smbdirect_rdma_mode=siw)`, ['run', 'site', '-i', inventory, ...extra]);
if (run.status !== 0) {
  process.stderr.write(`\nsite failed (exit ${run.status}); the VMs stay up for a look: smbdirect exec all -i ${inventory} -- dmesg | tail\n`);
  process.exit(run.status ?? 1);
}
// The data path: 4 MiB written on the client through the rdma mount, then read on the server.
const sha = (host, script) => {
  const r = step(`${host}: ${script}`, ['exec', host, '-i', inventory, '--', script], { capture: true });
  return r.status === 0 ? /\b([0-9a-f]{64})\b/.exec(r.stdout ?? '')?.[1] : undefined;
};
const wrote = sha('cli1', 'head -c 4194304 /dev/urandom > /mnt/data/npm-start.bin && sync && sha256sum /mnt/data/npm-start.bin');
const read = wrote && sha('srv1', 'sha256sum /srv/smb/data/npm-start.bin');
const same = Boolean(wrote) && wrote === read;

process.stderr.write(same ? `\nsha256 identical on client and server: SMB Direct works end to end (${elapsed()} in all).\n`
  : `\nthe file did not read back identical (${wrote ?? 'no checksum'} vs ${read ?? 'no checksum'}): see above.\n`);
process.stderr.write(`The VMs stay up for you to explore: smbdirect exec all -i ${inventory} -- uptime / smbdirect lab down --vm\n`);
process.exit(same ? 0 : 2);
