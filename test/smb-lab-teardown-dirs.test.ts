// #16 item 4b on the lab (real sshd hosts, kernel policy warn): site records the directories it
// creates; teardown removes them when empty (rmdir, deepest first), keeps a share directory with a
// user's file in it (file intact, message shown, still recorded), and a second teardown changes nothing.
import t from 'tap';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 1, 1);
const dir = tmp('sd-smb4b-');
copyFileSync(lab.inventory, join(dir, 'hosts.yml'));
mkdirSync(join(dir, 'group_vars'));
writeFileSync(join(dir, 'alice.pw'), 'pw4b\n', { mode: 0o600 });
writeFileSync(join(dir, 'group_vars', 'all.yml'), `smbdirect_kernel_policy: warn
smbdirect_fragment_dir: ${dir}/kconfig
ksmbd_users:
  - { name: alice, password_file: alice.pw }
`);
writeFileSync(join(dir, 'group_vars', 'smb_servers.yml'), `ksmbd_shares:
  - { name: data, path: /srv/smb4b/data }
  - { name: full, path: /srv/smb4b/full }
`);
writeFileSync(join(dir, 'group_vars', 'smb_clients.yml'), `smb_mounts:
  - { server: srv01, share: data, path: /mnt/smb4b/data, user: alice }
`);
const inv = join(dir, 'hosts.yml');
const srv = (p: string) => join(lab.root('srv01'), p);
const cli = (p: string) => join(lab.root('cli01'), p);

t.test('site, then teardown: our empty directories are gone, a full one is kept intact; a second teardown changes nothing', async (t) => {
  for (const p of ['srv/smb4b', 'mnt/smb4b']) t.notOk(existsSync(srv(p)) || existsSync(cli(p)), `${p} not there before`);
  await runCli(['run', 'site', '-i', inv]); // verify fails on the lab's kernel: the setup plays are what matter
  t.ok(existsSync(srv('srv/smb4b/data')) && existsSync(cli('mnt/smb4b/data')), 'site made the directories');
  t.match(readFileSync(srv('var/lib/smbdirect-provision/created-share-dirs'), 'utf8'), /^\/srv\/smb4b\n\/srv\/smb4b\/data\n\/srv\/smb4b\/full\n/m);
  t.match(readFileSync(cli('var/lib/smbdirect-provision/created-mount-points'), 'utf8'), /^\/mnt\/smb4b\n\/mnt\/smb4b\/data\n/m);
  writeFileSync(srv('srv/smb4b/full/keep.txt'), 'user data\n');

  const r = await runCli(['run', 'teardown', '-i', inv]);
  t.equal(r.code, 0, r.stdout.slice(-3000));
  t.ok(r.stdout.includes('kept /srv/smb4b/full: not empty (1 entry: keep.txt)'), 'the kept directory is named, with what is in it');
  t.notOk(existsSync(srv('srv/smb4b/data')), 'the empty share directory is gone');
  t.equal(readFileSync(srv('srv/smb4b/full/keep.txt'), 'utf8'), 'user data\n', 'the user file is intact');
  t.notOk(existsSync(cli('mnt/smb4b')), 'the mount point and the parent we made are gone');
  t.notOk(existsSync(cli('var/lib/smbdirect-provision')), 'the client keeps no record (nothing left)');
  t.same(readFileSync(srv('var/lib/smbdirect-provision/created-share-dirs'), 'utf8').split('\n').filter((l) => l.startsWith('/')), ['/srv/smb4b', '/srv/smb4b/full'], 'the record keeps only what was left');

  const again = await runJson(['run', 'teardown', '-i', inv]);
  t.equal(again.code, 0);
  for (const [h, s] of Object.entries(again.recap)) t.equal(s.changed, 0, `${h}: a second teardown changes nothing`);
  t.equal(readFileSync(srv('srv/smb4b/full/keep.txt'), 'utf8'), 'user data\n');
});
