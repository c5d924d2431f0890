// Acceptance of #13 (reach real clusters the way Ansible does), on real namespace-lab hosts: a lab
// whose hosts answer only through its bastion, a non-root login user whose sudo asks for a
// password, a user ssh_config with aliases and ProxyJump, and the become password and the SMB
// vars in a group_vars file encrypted as a whole by the real ansible-vault (the SMB password in a
// password_file encrypted by it too). The same inventory works with real `ansible -m raw`, with
// `smbdirect exec` and with `smbdirect run server/client`, and no password (sudo, SMB, vault) is
// in any process's argv or environment on any host, the bastion and the controller included,
// nor in any output.
import t, { type Test } from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readState } from '../src/lab/state.js';
import { LAB_SUDO_USER, sudoPasswordFile } from '../src/lab/sudo-user.js';
import { ensurePrerequisites } from '../src/prereqs.js';
import { ntHash } from '../src/smb/md4.js';
import { stringsIn } from './helpers/json.js';
import { runCli, runJson, startLab, tmp } from './helpers/lab.js';
import { watchProcs, type Watch } from './helpers/proc-watch.js';

await ensurePrerequisites(['ansible'], (l) => t.comment(l));
const lab = await startLab(t, 1, 1, { bastion: true });
const state = (await readState(lab.stateDir))!;
const host = (name: string) => state.hosts.find((h) => h.name === name)!;
const KEY = join(lab.stateDir, 'id_ed25519');
const KNOWN = join(lab.stateDir, 'known_hosts');
// sshd's log of each SMB host so far (lab up's own check logged in as root through the bastion):
// the logins this test makes are what comes after.
const sshdLog = (h: string) => join(host(h).dir, 'sshd.log');
const logStart = Object.fromEntries(['srv01', 'cli01'].map((h) => [h, statSync(sshdLog(h)).size]));

// The three secrets. The sudo password is labsudo's (random per lab, with a quote, a blank and a
// dollar); the SMB and vault passwords are made here, with characters that matter too.
const SUDO_PW = readFileSync(sudoPasswordFile(lab.stateDir), 'utf8').replace(/\n$/, '');
const SMB_PW = `smb-${randomBytes(9).toString('base64url')} "q' $(x)`;
const VAULT_PW = `vault-${randomBytes(9).toString('base64url')} ;'$y`;
// Each whole, and the random part alone: a leak through shell quoting splits a password at a blank
// or quote, but never inside its random prefix.
const CANARIES = [SUDO_PW, SMB_PW, VAULT_PW].flatMap((p) => [p, p.split(' ')[0]!]);
t.ok(CANARIES.every((c) => c.length >= 15), 'canaries long enough to be unique');
const leaked = (text: string): string[] => CANARIES.filter((c) => text.includes(c));

// The watcher: the controller's /proc (its processes, and every lab host's) and each host's own
// /proc as mounted in its namespace, read through its sshd (the PID namespace's first process).
function sshdPid(name: string): number {
  const pid = host(name).pid!;
  const child = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
  if (!child) throw new Error(`${name}: no process in its PID namespace`);
  return Number(child);
}
const PROCS: Record<string, string> = { controller: '/proc', ...Object.fromEntries(['srv01', 'cli01', 'bastion'].map((h) => [h, `/proc/${sshdPid(h)}/root/proc`])) };
const MARKER = `marker-${randomBytes(9).toString('base64url')}`;
// What the watcher must see while it watches (proof that it can see): sudo's and ansible's argv.
const SEEN = ['[sudo via smbdirect', 'BECOME-SUCCESS-', 'sshd: labsudo', 'ansible-vault'];
// Started before anything is encrypted: ansible-vault runs under its watch too.
const watch: Watch = watchProcs(PROCS, [...CANARIES, MARKER, ...SEEN]);
t.teardown(() => watch.stop());
const secretsFound = () => watch.found.filter((f) => CANARIES.includes(f.needle));

// The cluster as an ops team writes it. HOME is a fresh dir: no ~/.ssh, no ~/.ansible.cfg.
const dir = tmp('sd-accept-');
const home = join(dir, 'home');
mkdirSync(home);
const CFG = join(dir, 'ssh_config');
// The bastion is logged in to as labsudo too: a real bastion lets no one in as root, and a jump
// needs no privilege there (only a TCP forward), so root would prove less.
writeFileSync(CFG, `# the team's ssh_config: aliases, the bastion as a jump host, a non-root login
Host jumpbox
  HostName ${host('bastion').address}
Host storage1
  HostName ${host('srv01').address}
  ProxyJump jumpbox
Host compute1
  HostName ${host('cli01').address}
  ProxyJump jumpbox
Host *
  User ${LAB_SUDO_USER}
  IdentityFile ${KEY}
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile ${KNOWN}
  StrictHostKeyChecking yes
`);
const inv = join(dir, 'hosts.yml');
writeFileSync(inv, `all:
  vars:
    ansible_ssh_common_args: -F ${CFG}
    ansible_become: true
  children:
    smb_servers:
      hosts:
        storage1:
    smb_clients:
      hosts:
        compute1:
`);
writeFileSync(join(dir, 'ansible.cfg'), '');
const vaultPwFile = join(dir, 'vault-password');
writeFileSync(vaultPwFile, `${VAULT_PW}\n`, { mode: 0o600 });
const ANSIBLE_ENV = {
  ...process.env, HOME: home, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp'),
  ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), // empty: no ansible.cfg from the working directory or /etc
  ANSIBLE_SSH_ARGS: '-o ControlMaster=no', // no ControlPersist master left running after ansible exits
};
/** ansible-vault encrypt, in place; the vault password from its 0600 file, never argv. Not
 * execFileSync: the watcher (on this event loop) must run while ansible-vault does. */
async function vaultEncrypt(file: string, text: string): Promise<void> {
  writeFileSync(file, text, { mode: 0o600 });
  await promisify(execFile)('ansible-vault', ['encrypt', '--vault-password-file', vaultPwFile, file], { env: ANSIBLE_ENV });
}
// The become password and every SMB var, in one group_vars file encrypted as a whole.
const VAULT_YML = `ansible_become_password: '${SUDO_PW.replaceAll("'", "''")}'
smbdirect_kernel_policy: warn
smbdirect_rdma_mode: siw
smbdirect_fragment_dir: ${dir}/kconfig
ksmbd_users:
  - name: alice
    password_file: secrets/alice.pw
ksmbd_shares:
  - name: data
    path: /srv/smb/data
ksmbd_global:
  smb3 encryption: disabled
smb_mounts:
  - server: storage1
    share: data
    path: /mnt/data
    user: alice
`;
const vaultFiles = [join(dir, 'group_vars', 'all', 'vault.yml'), join(dir, 'secrets', 'alice.pw')];
const VAULT = ['--vault-password-file', vaultPwFile];
const ENV = { HOME: home };

/** What a run printed holds none of the three passwords (whole, or their random parts). */
function noSecretsIn(t: Test, what: string, text: string): void {
  t.same(leaked(text), [], `${what}: no sudo, SMB or vault password`);
}

/** The system OpenSSH client, with nothing from ~/.ssh. */
function ssh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ssh', ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', ...args], { timeout: 30_000, env: { ...process.env, HOME: home } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

// Encrypted in the first subtest, not at the top: a failure there must still take the lab down.
t.test('ansible-vault encrypts the group_vars file and the SMB password file; they hold no plaintext', async (t) => {
  mkdirSync(join(dir, 'group_vars', 'all'), { recursive: true });
  mkdirSync(join(dir, 'secrets'));
  // The SMB password itself: a password_file, encrypted by ansible-vault as a whole (passwords are
  // never accepted in vars, vaulted or not: docs/variables.md).
  await vaultEncrypt(join(dir, 'secrets', 'alice.pw'), `${SMB_PW}\n`);
  await vaultEncrypt(join(dir, 'group_vars', 'all', 'vault.yml'), VAULT_YML);
  for (const f of vaultFiles) {
    const text = readFileSync(f, 'utf8');
    t.match(text, /^\$ANSIBLE_VAULT;1\.1;AES256\n/, f);
    t.same(leaked(text), [], `${f}: ciphertext only`);
    t.notMatch(text, /ksmbd_users|alice/, `${f}: no var name either`);
  }
});

t.test('the watcher sees into every host: a marker planted in a process\'s environment (not its argv) is found', async (t) => {
  t.ok(new Set(Object.values(PROCS)).size === 4, 'four distinct /proc views');
  const planted: ChildProcess[] = [];
  try {
    for (const h of ['srv01', 'cli01', 'bastion']) {
      // a process inside the host's namespaces, with the marker in its environment only (not argv)
      planted.push(spawn('nsenter', ['-t', String(sshdPid(h)), '-a', 'sleep', '30'], { stdio: 'ignore', env: { ...process.env, SD_MARKER: MARKER } }));
    }
    const started = Date.now();
    while (Date.now() - started < 10_000 && new Set(watch.found.filter((f) => f.needle === MARKER).map((f) => f.proc)).size < 4) await new Promise((r) => setTimeout(r, 100));
    t.same([...new Set(watch.found.filter((f) => f.needle === MARKER).map((f) => f.proc))].sort(), ['bastion', 'cli01', 'controller', 'srv01'], 'found on each host\'s own /proc, and on the controller\'s');
  } finally {
    for (const p of planted) p.kill('SIGKILL');
  }
});

t.test('negative control: srv01 does not answer the controller directly, only through the bastion', async (t) => {
  const direct = await ssh(['-F', '/dev/null', '-i', KEY, '-o', `UserKnownHostsFile=${KNOWN}`, '-o', 'StrictHostKeyChecking=yes', `root@${host('srv01').address}`, 'hostname']);
  t.not(direct.code, 0, direct.stdout);
  t.match(direct.stderr, /Connection timed out|Operation timed out/);
  const noJump = await ssh(['-F', CFG, '-o', 'ProxyJump=none', 'storage1', 'hostname']);
  t.not(noJump.code, 0, 'the alias without its ProxyJump times out too');
  const jumped = await ssh(['-F', CFG, 'storage1', 'hostname']);
  t.equal(jumped.code, 0, jumped.stderr);
  t.equal(jumped.stdout, 'srv01\n', 'the alias reaches srv01 through jumpbox');
});

t.test('real ansible, ad-hoc -m raw with become: uid 0 on every host, the sudo password from the vault', async (t) => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('ansible', ['all', '-i', inv, ...VAULT, '-b', '-m', 'raw', '-a', 'id -u; echo "user=${SUDO_USER:-}"'], { env: ANSIBLE_ENV, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const h of ['storage1', 'compute1']) t.match(r.stdout, new RegExp(`${h} \\| CHANGED \\| rc=0 >>\\s+0\\r?\\nuser=${LAB_SUDO_USER}\\r?\\n`), `${h}: root, through sudo from ${LAB_SUDO_USER} (raw output comes through a pty: \\r\\n)`);
  noSecretsIn(t, 'ansible', r.stdout + r.stderr);
  t.ok(watch.found.some((f) => f.needle === 'BECOME-SUCCESS-' && f.proc !== 'controller'), 'the watcher saw ansible\'s become command on a host');
});

t.test('smbdirect exec all --become: uid 0 on every host, through the bastion', async (t) => {
  const r = await runCli(['exec', 'all', '-i', inv, ...VAULT, '-vvv', '--', 'id -u; echo "user=${SUDO_USER:-}"'], { env: ENV, deadlineMs: 120_000 });
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const h of ['storage1', 'compute1']) t.match(r.stdout, `${h} | CHANGED | rc=0 >>\n0\nuser=${LAB_SUDO_USER}\n`);
  noSecretsIn(t, 'exec -vvv', r.stdout + r.stderr);
  t.ok(watch.found.some((f) => f.needle === '[sudo via smbdirect' && f.proc !== 'controller'), 'the watcher saw our sudo on a host');
  const show = await runCli(['inventory', '-i', inv, ...VAULT, '--host', 'storage1'], { env: ENV });
  t.equal(show.code, 0, show.stderr);
  const resolved = JSON.parse(show.stdout);
  t.match(resolved.smbdirect_connection, { route: `${LAB_SUDO_USER}@${host('bastion').address}:22 (jumpbox) -> ${LAB_SUDO_USER}@${host('srv01').address}:22 (storage1)` });
  t.equal(resolved.ansible_become_password, '********', 'the vaulted become password is masked');
  noSecretsIn(t, 'inventory --host', show.stdout + show.stderr);
});

t.test('every login on the SMB hosts came from the bastion, as labsudo', async (t) => {
  for (const h of ['srv01', 'cli01']) {
    const accepted = [...readFileSync(sshdLog(h)).subarray(logStart[h]).toString('utf8').matchAll(/Accepted (\w+) for (\S+) from ([\d.]+)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    t.ok(accepted.length >= 2, `${h}: ansible and smbdirect logged in (${accepted.length})`);
    t.same([...new Set(accepted)], [`publickey ${LAB_SUDO_USER} ${host('bastion').address}`], `${h}: only from the bastion's address`);
  }
});

const SERVER_FILES = ['etc/ksmbd/ksmbd.conf', 'etc/ksmbd/ksmbdpwd.db'];
t.test('smbdirect run server, then client: the SMB vars and the SMB password from the vault', async (t) => {
  const s = await runJson(['run', 'server', '-i', inv, ...VAULT, '--diff'], ENV, 300_000);
  t.equal(s.code, 0, JSON.stringify(s.results.filter((r) => r.status === 'failed')) + s.stderr);
  t.ok((s.recap.storage1?.changed ?? 0) > 0, 'the server play changed storage1');
  const c = await runJson(['run', 'client', '-i', inv, ...VAULT, '--diff'], ENV, 300_000);
  t.equal(c.code, 0, JSON.stringify(c.results.filter((r) => r.status === 'failed')) + c.stderr);
  t.ok((c.recap.compute1?.changed ?? 0) > 0, 'the client play changed compute1');
  t.ok(stringsIn(s.lines).some((v) => v.includes('********')), 'vault strings are masked in the output (the control for the next)');
  t.same(stringsIn([...s.lines, ...c.lines]).filter((v) => v.includes(`${dir}/kconfig`)), [], 'smbdirect_fragment_dir, a vault value, is printed nowhere');
  for (const [what, r] of [['server', s], ['client', c]] as const) {
    t.same(stringsIn(r.lines).flatMap(leaked), [], `run ${what} --json: no password in any decoded value`);
    noSecretsIn(t, `run ${what} stderr`, r.stderr);
  }
  const srv = lab.root('srv01');
  t.match(readFileSync(join(srv, SERVER_FILES[0]!), 'utf8'), /\[data\]\n/);
  t.equal(statSync(join(srv, SERVER_FILES[1]!)).mode & 0o777, 0o600);
  t.match(readFileSync(join(srv, SERVER_FILES[1]!), 'utf8'), new RegExp(`^alice:${ntHash(SMB_PW).toString('base64').replace(/[+/]/g, '\\$&')}$`, 'm'), 'ksmbd has the hash of the decrypted SMB password');
  for (const h of ['srv01', 'cli01']) {
    // no ansible_host: the RDMA link goes on the interface carrying the alias's HostName
    t.match(readFileSync(join(lab.root(h), 'etc/systemd/system/smbdirect-rdma-siw0.service'), 'utf8'), /rdma link add siw0 type siw netdev eth0/, `${h}: the soft RDMA link on eth0`);
  }
  const cred = join(lab.root('cli01'), 'etc/smbdirect-provision/credentials/storage1@alice');
  t.equal(readFileSync(cred, 'utf8'), `username=alice\npassword=${SMB_PW}\n`, 'the client\'s credentials file has the decrypted password');
  t.equal(statSync(cred).mode & 0o777, 0o600);
  t.match(readFileSync(join(lab.root('cli01'), 'etc/fstab'), 'utf8'), new RegExp(`^//${host('srv01').address.replaceAll('.', '\\.')}/data /mnt/data cifs vers=3\\.1\\.1,rdma,credentials=\\S+,_netdev,nofail 0 0$`, 'm'), 'the mount names storage1 by its address');
  const text = await runCli(['run', 'client', '-i', inv, ...VAULT, '-vvv', '--diff'], { env: ENV, deadlineMs: 300_000 });
  t.equal(text.code, 0, text.stdout.slice(-3000));
  noSecretsIn(t, 'run client -vvv --diff', text.stdout + text.stderr);
});

t.test('without the vault password: refused before any host is contacted, nothing printed of the vault', async (t) => {
  const r = await runCli(['exec', 'all', '-i', inv, '--', 'id -u'], { env: ENV });
  t.equal(r.code, 1);
  t.match(r.stderr, /encrypted with Ansible Vault, and no vault password was given/);
  noSecretsIn(t, 'the refusal', r.stdout + r.stderr);
});

t.test('in no argv or environment, on any host or the controller, throughout', async (t) => {
  await watch.stop();
  t.ok(watch.rounds > 50, `the watcher ran ${watch.rounds} rounds`);
  t.ok(watch.found.some((f) => f.needle === 'sshd: labsudo' && f.proc === 'bastion'), 'it saw labsudo\'s sshd on the bastion (the jump)');
  t.ok(watch.found.some((f) => f.needle === 'ansible-vault' && f.proc === 'controller'), 'and ansible-vault on the controller');
  t.same(secretsFound(), [], 'no sudo, SMB or vault password');
});
