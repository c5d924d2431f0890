#!/usr/bin/env node
// `npm start`: the main job on a fresh Debian 12 machine as root. Builds the built-in lab
// (installing what it needs), then runs the playbook on it and shows the recap.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}dist/src/cli.js`;
const step = (title, args, opts = {}) => {
  process.stderr.write(`\n==> ${title}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: opts.capture ? ['inherit', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (opts.capture) process.stdout.write(r.stdout ?? '');
  return r;
};

if (!existsSync(cli)) {
  const b = spawnSync('npx', ['tsc', '-p', root], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}
const up = step('lab up: 1 server, 2 clients (real sshd hosts in network namespaces)', ['lab', 'up', '--servers', '1', '--clients', '2'], { capture: true });
if (up.status !== 0) process.exit(up.status ?? 1);
const inventory = up.stdout.trim().split('\n').at(-1);
const extra = process.argv.slice(2);
const playbook = existsSync(`${root}playbooks/site.yml`) ? 'site' : 'sample';
const run = step(`run ${playbook} on ${inventory}`, ['run', playbook, '-i', inventory, '-e', 'smbdirect_kernel_policy=warn', ...extra]);
process.stderr.write(`\nThe lab stays up for you to explore: smbdirect lab status / smbdirect exec all -- uptime / smbdirect lab down\n`);
process.exit(run.status ?? 1);
