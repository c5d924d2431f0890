// #16 on the lab (real sshd hosts, kernel policy warn): a variable with our prefix that is none of
// ours stops the host before any change, naming where it was set; the kernel config fragment is
// written beside the inventory, and the path is printed.
import t from 'tap';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 1, 2);

/** A fresh inventory dir: the lab's hosts.yml and the given group_vars files. */
function inventory(groupVars: Record<string, string>): string {
  const dir = tmp('sd-smb16-');
  copyFileSync(lab.inventory, join(dir, 'hosts.yml'));
  mkdirSync(join(dir, 'group_vars'));
  for (const [name, text] of Object.entries(groupVars)) writeFileSync(join(dir, 'group_vars', name), text);
  return dir;
}

t.test('a variable with our prefix that is none of ours stops the host, saying where it was set', async (t) => {
  const dir = inventory({ 'all.yml': 'smbdirect_kernel_policy: warn\n', 'smb_clients.yml': 'smb_mount_list:\n  - /mnt/data\n' });
  const r = await runCli(['run', 'client', '-i', join(dir, 'hosts.yml'), '-e', 'smbdirect_rdma_links=siw9']);
  t.equal(r.code, 2, r.stdout.slice(-3000));
  for (const h of ['cli01', 'cli02']) {
    t.ok(r.stdout.includes(`${h}: smb_mount_list: not a variable smbdirect-provision knows (set in ${join(dir, 'group_vars', 'smb_clients.yml')}): names starting with smb_ are ours`), `${h}: smb_mount_list refused, its file named`);
    t.ok(r.stdout.includes(`${h}: smbdirect_rdma_links: not a variable smbdirect-provision knows (set in -e (extra vars))`), `${h}: the -e variable refused as set by -e`);
  }
  t.match(r.stdout, /the smb_ variables are smb_mounts/);
  t.notOk(existsSync(join(lab.root('cli01'), 'etc/smbdirect-provision')), 'nothing written on the host');
});

t.test('the kernel config fragment is written beside the inventory, not in the working directory, and its path printed', async (t) => {
  const dir = inventory({ 'all.yml': 'smbdirect_kernel_policy: warn\nksmbd_users:\n  - { name: alice, password_file: alice.pw }\n' });
  writeFileSync(join(dir, 'alice.pw'), 'pw\n', { mode: 0o600 });
  const cwdFragments = join(process.cwd(), 'smbdirect-kconfig');
  const before = existsSync(cwdFragments) ? readdirSync(cwdFragments) : [];
  const r = await runCli(['run', 'server', '-i', join(dir, 'hosts.yml')]);
  t.equal(r.code, 0, r.stdout.slice(-3000));
  const written = readdirSync(join(dir, 'smbdirect-kconfig'));
  t.match(written, [/^srv01-.+\.config$/], 'one fragment, in <inventory dir>/smbdirect-kconfig');
  t.ok(r.stdout.includes(`kernel config fragment written to ${join(dir, 'smbdirect-kconfig', written[0]!)}`), 'the path is printed');
  t.match(readFileSync(join(dir, 'smbdirect-kconfig', written[0]!), 'utf8'), /^CONFIG_SMB_SERVER_SMBDIRECT=y$/m);
  t.same(existsSync(cwdFragments) ? readdirSync(cwdFragments) : [], before, 'nothing new in the working directory');
  const again = await runCli(['run', 'server', '-i', join(dir, 'hosts.yml')]);
  t.notMatch(again.stdout, /fragment written to/, 'the same fragment is not written again');
});
