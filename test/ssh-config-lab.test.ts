// OpenSSH client configuration on real hosts (the namespace lab): an inventory that names only an
// alias reaches the host through `-F FILE` in ansible_ssh_common_args, or through ~/.ssh/config
// under HOME; host-key settings from the config; a failing ProxyJump never bypassed.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startLab, tmp } from './helpers/lab.js';

const lab = await startLab(t, 1, 0);
const address = /srv01: \{ ansible_host: (\S+) \}/.exec(readFileSync(lab.inventory, 'utf8'))![1]!;
const key = join(lab.stateDir, 'id_ed25519');
const knownHosts = join(lab.stateDir, 'known_hosts');
const emptyHome = tmp('sd-home-');

function files(dir: string, list: Record<string, string>): void {
  for (const [p, text] of Object.entries(list)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
}

const web1 = (extra = '') => `Host web1\n  HostName ${address}\n  User root\n  IdentityFile ${key}\n  UserKnownHostsFile ${knownHosts}\n${extra}`;

t.test('-F FILE in ansible_ssh_common_args: the inventory names only the alias', async (t) => {
  const dir = tmp('sd-sshcfg-');
  files(dir, {
    config: web1(),
    'hosts.yml': `all:\n  hosts:\n    web1:\n  vars:\n    ansible_ssh_common_args: -F ${dir}/config\n`,
  });
  const r = await runCli(['exec', 'web1', '-i', join(dir, 'hosts.yml'), '--', 'cat /etc/hostname; id -un'], { env: { HOME: emptyHome } });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /srv01\s+root/);
  const show = await runCli(['inventory', '-i', join(dir, 'hosts.yml'), '--host', 'web1'], { env: { HOME: emptyHome } });
  t.equal(show.code, 0, show.stderr);
  const c = JSON.parse(show.stdout).smbdirect_connection;
  t.match(c, { address, port: 22, user: 'root', identity_files: [key], known_hosts: [knownHosts] });
  t.equal(c.sources.hostname, `${dir}/config line 2`);
});

t.test('~/.ssh/config under HOME is read by default; inventory variables win over it', async (t) => {
  const home = tmp('sd-home-');
  const dir = tmp('sd-inv-');
  files(home, { '.ssh/config': web1('  Port 2222\n') });
  files(dir, { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      ansible_port: 22\n' });
  const r = await runCli(['exec', 'web1', '-i', join(dir, 'hosts.yml'), '--', 'cat /etc/hostname'], { env: { HOME: home } });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /srv01/);
  files(dir, { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      ansible_port: 22\n      ansible_user: nosuchuser\n' });
  const denied = await runCli(['exec', 'web1', '-i', join(dir, 'hosts.yml'), '--', 'true'], { env: { HOME: home } });
  t.not(denied.code, 0);
  t.match(denied.stdout + denied.stderr, /authentication refused/, 'ansible_user beats User in the config');
});

t.test('StrictHostKeyChecking accept-new records; no still refuses a changed key; HostKeyAlias', async (t) => {
  const dir = tmp('sd-sshcfg-');
  const fresh = join(dir, 'kh_fresh');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
  const otherKey = readFileSync(join(dir, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  const aliasKey = readFileSync(knownHosts, 'utf8').split('\n').find((l) => l.startsWith('srv01 '))!;
  files(dir, {
    config: [
      `Host new`, `  UserKnownHostsFile ${fresh}`, `  StrictHostKeyChecking accept-new`,
      `Host changed`, `  UserKnownHostsFile ${dir}/kh_changed`, `  StrictHostKeyChecking no`,
      `Host strict`, `  UserKnownHostsFile ${dir}/kh_empty`, `  StrictHostKeyChecking yes`,
      `Host alias`, `  UserKnownHostsFile ${dir}/kh_alias`, `  HostKeyAlias SRV01`,
      `Host *`, `  HostName ${address}`, `  User root`, `  IdentityFile ${key}`, '',
    ].join('\n'),
    kh_changed: `${address} ${otherKey}\n`,
    kh_alias: `${aliasKey}\n`,
    'hosts.yml': `all:\n  hosts:\n    new:\n    changed:\n    strict:\n    alias:\n  vars:\n    ansible_ssh_common_args: -F ${dir}/config\n`,
  });
  const inv = join(dir, 'hosts.yml');
  const run = (host: string, ...more: string[]) => runCli(['exec', host, '-i', inv, ...more, '--', 'true'], { env: { HOME: emptyHome } });
  t.equal((await run('new')).code, 0, 'unknown key accepted by accept-new');
  t.match(readFileSync(fresh, 'utf8'), new RegExp(`^${address.replaceAll('.', '\\.')} ssh-ed25519 `), 'and recorded in UserKnownHostsFile');
  const changed = await run('changed', '--accept-new-host-keys');
  t.not(changed.code, 0);
  t.match(changed.stdout + changed.stderr, /HAS CHANGED.*StrictHostKeyChecking no accepts unknown keys only/);
  const strict = await run('strict', '--accept-new-host-keys');
  t.equal(strict.code, 0, '--accept-new-host-keys acts as -o on the command line: it beats the file');
  const strictNoFlag = await run('alias');
  t.equal(strictNoFlag.code, 0, 'HostKeyAlias: the key is looked up under the alias (lower case)');
  writeFileSync(`${dir}/kh_empty`, '');
  const refused = await run('strict');
  t.not(refused.code, 0);
  t.match(refused.stdout + refused.stderr, new RegExp(`is unknown .*StrictHostKeyChecking yes \\(${dir}/config line 9\\) refuses it`));
});

t.test('a host behind a ProxyJump that fails is never reached directly', async (t) => {
  // the jump host is a closed port on the lab host itself (test/jump-hosts-lab.test.ts has working ones)
  const dir = tmp('sd-sshcfg-');
  files(dir, {
    config: web1(`  ProxyJump root@${address}:2222\nHost ${address}\n  IdentityFile ${key}\n`), // the hop's own block: web1's does not apply to it
    'hosts.yml': `all:\n  hosts:\n    web1:\n  vars:\n    ansible_ssh_common_args: -F ${dir}/config\n`,
  });
  const r = await runCli(['exec', 'web1', '-i', join(dir, 'hosts.yml'), '--', 'touch /tmp/reached'], { env: { HOME: emptyHome } });
  t.equal(r.code, 4);
  t.match(r.stdout + r.stderr, `web1 | UNREACHABLE! => cannot reach ${address} (jump host for web1): connection refused by ${address}:2222`);
  t.notOk(existsSync(join(lab.root('srv01'), 'tmp/reached')));
  const show = await runCli(['inventory', '-i', join(dir, 'hosts.yml'), '--host', 'web1'], { env: { HOME: emptyHome } });
  t.equal(JSON.parse(show.stdout).smbdirect_connection.proxy_jump, `root@${address}:2222`);
});
