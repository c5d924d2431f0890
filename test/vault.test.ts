// Ansible Vault (#13 item 4), against the real thing: every encrypted file and !vault string here is
// made by Debian's ansible-vault in the test (1.1 with --vault-password-file, 1.2 with --vault-id
// LABEL@FILE, encrypt_string), decrypted by our code, and the whole inventory is compared with what
// ansible-inventory --list resolves it to. Then the failures (wrong password, tampered HMAC, no
// password), the password sources (file, script, *-client script, stdin, a terminal) and the
// masking of decrypted values in errors, inventory JSON, run output, --diff and --json.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { InventoryError, inventoryList, loadInventory, parseExtraVars } from '../src/inventory/index.js';
import { decryptVaultText, loadVaultSecrets, setVaultSecrets, type VaultSecret } from '../src/inventory/vault.js';
import { ensurePrerequisites } from '../src/prereqs.js';
import { cmd } from '../src/quote.js';
import { redact } from '../src/secrets.js';
import { CLI, runCli, tmp } from './helpers/lab.js';

await ensurePrerequisites(['ansible'], (l) => t.comment(l));

const dir = tmp('sd-vault-');
const ANSIBLE_ENV = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(dir, '.ansible-tmp'), HOME: dir };

function sh(file: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile(file, args, { cwd: opts.cwd ?? dir, env: ANSIBLE_ENV, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    if (opts.input !== undefined) p.stdin!.end(opts.input);
  });
}
async function ok(file: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
  const r = await sh(file, args, opts);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

// Passwords: a default one in a file, a "dev" one for --vault-id, both with characters that matter.
const PW1 = 'corr3ct horse "battery"';
const PW2 = 'dev-p\u00e4ss;$(x)';
const pw1 = join(dir, 'pw1.txt');
const pw2 = join(dir, 'pw2.txt');
const wrong = join(dir, 'wrong.txt');
writeFileSync(pw1, `${PW1}\n`);
writeFileSync(pw2, `  ${PW2}\r\n`); // surrounding blanks and CRLF are stripped from a file, as Ansible does
writeFileSync(wrong, 'not-the-password\n');

/** ansible-vault encrypt_string's "name: !vault |" block, indented for a YAML mapping at `indent`. */
async function encryptString(value: string, name: string, vaultArgs: string[], indent: string): Promise<string> {
  const out = await ok('ansible-vault', ['encrypt_string', ...vaultArgs, '--name', name, '--', value]);
  return out.trimEnd().split('\n').map((l) => indent + l).join('\n') + '\n';
}
/** A file encrypted in place by ansible-vault. */
async function encryptFile(file: string, text: string, vaultArgs: string[]): Promise<void> {
  writeFileSync(file, text);
  await ok('ansible-vault', ['encrypt', ...vaultArgs, file]);
}
const secret = (id: string, password: string, source = 'test'): VaultSecret => ({ id, password: Buffer.from(password), source });

// The plaintexts we encrypt, to map ansible-inventory's {"__ansible_vault": ...} back to them.
const PLAIN = {
  token: 'tok-\u00fcnicode "quoted" \\ back',
  groupPw: 'group-secret-1234',
  hostKey: 'multi\nline\nsecret\n',
};

const inv = join(dir, 'inv');
mkdirSync(join(inv, 'group_vars'), { recursive: true });
mkdirSync(join(inv, 'host_vars'), { recursive: true });
const hostsYml =
  'all:\n  children:\n    web:\n      hosts:\n        h1:\n          ansible_connection: local\n' +
  (await encryptString(PLAIN.token, 'token', ['--vault-id', `dev@${pw2}`], '          ')) +
  '        h2:\n          ansible_host: 127.0.0.1\n      vars:\n        plain_var: visible\n' +
  (await encryptString(PLAIN.groupPw, 'group_pw', ['--vault-password-file', pw1], '        '));
writeFileSync(join(inv, 'hosts.yml'), hostsYml);
// whole files: group_vars (1.1, default id), host_vars (1.2, vault id dev), -e @file (1.1)
await encryptFile(join(inv, 'group_vars', 'all.yml'), 'db_password: s3cr3t-from-group-vars\nport_list: [445, 5445]\nnum: 42\n', ['--vault-password-file', pw1]);
await encryptFile(join(inv, 'host_vars', 'h2.yml'), `host_secret: h2-only-secret\nkey_text: |\n  ${PLAIN.hostKey.trimEnd().split('\n').join('\n  ')}\n`, ['--vault-id', `dev@${pw2}`]);
const extra = join(dir, 'extra.yml');
await encryptFile(extra, 'extra_secret: from-extra-vars-file\n', ['--vault-password-file', pw1]);

const BOTH = ['--vault-id', `dev@${pw2}`, '--vault-password-file', pw1];
const DECRYPTED = ['s3cr3t-from-group-vars', 'h2-only-secret', 'from-extra-vars-file', PLAIN.token, PLAIN.groupPw, PLAIN.hostKey];

/** ansible-inventory --list (an inline !vault value comes out as {"__ansible_vault": CIPHERTEXT}). */
async function ansibleList(args: string[]): Promise<unknown> {
  return JSON.parse(await ok('ansible-inventory', ['-i', join(inv, 'hosts.yml'), '--list', ...args]));
}

t.test('files and strings made by ansible-vault decrypt to what was encrypted (1.1 and 1.2)', async (t) => {
  const f11 = join(dir, 'f11.txt');
  const f12 = join(dir, 'f12.txt');
  const text = 'line one\nl\u00efne two \u2713\n';
  await encryptFile(f11, text, ['--vault-password-file', pw1]);
  await encryptFile(f12, text, ['--vault-id', `lab@${pw2}`]);
  t.match(readFileSync(f11, 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/, 'ansible-vault wrote format 1.1');
  t.match(readFileSync(f12, 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;lab\n/, 'ansible-vault wrote format 1.2 with the label');
  t.equal(decryptVaultText(readFileSync(f11, 'utf8'), { file: f11 }, undefined, 'f11', [secret('default', PW1)]), text);
  // the labelled one is found whatever the order and labels of the secrets given
  t.equal(decryptVaultText(readFileSync(f12, 'utf8'), { file: f12 }, undefined, 'f12', [secret('default', PW1), secret('lab', PW2)]), text);
  t.equal(decryptVaultText(readFileSync(f12, 'utf8'), { file: f12 }, undefined, 'f12', [secret('other', PW2)]), text, 'a secret under another label is tried too');
  const s = await ok('ansible-vault', ['encrypt_string', '--vault-password-file', pw1, '--', 'p@ss']);
  const body = s.replace(/^!vault \|\n/, '').split('\n').map((l) => l.trim()).join('\n');
  t.equal(decryptVaultText(body, { file: 'x' }, 'k', 'k', [secret('default', PW1)]), 'p@ss', 'encrypt_string');
  t.equal(redact('say p@ss and ' + text), 'say ******** and ********', 'decrypted values are registered as secrets');
});

t.test('an inventory with encrypted group_vars/host_vars, !vault values and -e @file resolves as ansible-inventory resolves it', async (t) => {
  setVaultSecrets(await loadVaultSecrets({ vaultId: [`dev@${pw2}`], vaultPasswordFile: [pw1] }));
  t.teardown(() => setVaultSecrets([]));
  const extraVars = await parseExtraVars([`@${extra}`], dir);
  const ours = inventoryList(await loadInventory(join(inv, 'hosts.yml'), { extraVars, onWarning: () => {} })) as Record<string, any>;
  const theirs = (await ansibleList([...BOTH, '-e', `@${extra}`])) as Record<string, any>;
  // ansible-inventory prints an inline !vault value as {"__ansible_vault": CIPHERTEXT}; decrypt
  // those with ansible-vault itself, then the two must be equal.
  for (const vars of Object.values(theirs._meta.hostvars) as Record<string, any>[]) {
    for (const [k, v] of Object.entries(vars)) {
      if (v && typeof v === 'object' && '__ansible_vault' in v) {
        const f = join(dir, `inline-${k}.txt`);
        writeFileSync(f, v.__ansible_vault + '\n');
        await ok('ansible-vault', ['decrypt', ...BOTH, f]);
        vars[k] = readFileSync(f, 'utf8');
      }
    }
  }
  t.same(ours, theirs);
  t.equal(ours._meta.hostvars.h1.token, PLAIN.token);
  t.equal(ours._meta.hostvars.h2.key_text, PLAIN.hostKey);
  t.equal(ours._meta.hostvars.h2.num, 42, 'numbers in an encrypted file stay numbers');
});

t.test('a wrong password: the file (and key) and the vault ids tried, never a password', async (t) => {
  setVaultSecrets([secret('default', 'not-the-password', wrong), secret('dev', PW1, pw1)]);
  t.teardown(() => setVaultSecrets([]));
  const err = (await loadInventory(join(inv, 'hosts.yml'), { onWarning: () => {} }).catch((e) => e)) as InventoryError;
  t.type(err, InventoryError);
  // the first vaulted value met: h1's token (vault id dev): dev is tried first, then default
  t.match(err.message, `hosts.yml:7: cannot decrypt the !vault value of variable "token" (vault id dev): no vault password given fits (tried vault ids: dev (${pw1}), default (${wrong}))`);
  t.equal(err.key, 'token');
  t.notMatch(err.message, PW1);
  t.notMatch(err.message, 'not-the-password');
  setVaultSecrets([secret('default', 'not-the-password', wrong)]);
  const file = (await parseExtraVars([`@${extra}`], dir).catch((e) => e)) as InventoryError;
  t.equal(file.message, `${extra}:1: cannot decrypt this vars file: no vault password given fits (tried vault ids: default (${wrong})); the HMAC check failed: a wrong password, or the encrypted data was altered (key: extra.yml). Pass the password it was encrypted with (--vault-id LABEL@FILE, --vault-password-file FILE or --ask-vault-pass).`);
  // the control: real Ansible refuses the same password
  const r = await sh('ansible-vault', ['view', '--vault-password-file', wrong, extra]);
  t.not(r.code, 0, 'ansible-vault refuses the wrong password too');
});

t.test('a tampered HMAC (or ciphertext) is refused', async (t) => {
  const f = join(dir, 'tamper.txt');
  await encryptFile(f, 'secret: value\n', ['--vault-password-file', pw1]);
  const lines = readFileSync(f, 'utf8').trim().split('\n');
  const inner = Buffer.from(lines.slice(1).join(''), 'hex').toString('latin1').split('\n');
  const flip = (h: string, i: number) => h.slice(0, i) + (h[i] === '0' ? '1' : '0') + h.slice(i + 1);
  for (const [what, part] of [['HMAC', 1], ['ciphertext', 2]] as const) {
    const parts = [...inner];
    parts[part] = flip(parts[part]!, 5);
    const text = `${lines[0]}\n${Buffer.from(parts.join('\n'), 'latin1').toString('hex')}\n`;
    const tf = join(dir, `tampered-${what}.txt`);
    writeFileSync(tf, text);
    t.throws(() => decryptVaultText(text, { file: tf }, undefined, 'this file', [secret('default', PW1, pw1)]), {
      message: new RegExp(`cannot decrypt this file: no vault password given fits \\(tried vault ids: default \\(${pw1}\\)\\); the HMAC check failed`),
    }, `${what} altered`);
    t.not((await sh('ansible-vault', ['view', '--vault-password-file', pw1, tf])).code, 0, `ansible-vault refuses it too (${what})`);
  }
  t.throws(() => decryptVaultText('$ANSIBLE_VAULT;1.1;AES256\nzz\n', { file: 'f' }, undefined, 'f', [secret('default', PW1)]), { message: /not valid Ansible Vault data: the body is not hexadecimal/ });
  t.throws(() => decryptVaultText('$ANSIBLE_VAULT;1.3;AES256\n00\n', { file: 'f' }, undefined, 'f', [secret('default', PW1)]), { message: /version 1\.3 is not supported/ });
});

t.test('password sources: file, script, *-client script, errors', async (t) => {
  const script = join(dir, 'pass.sh');
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' ${cmd(PW1)}\n`);
  chmodSync(script, 0o755);
  const client = join(dir, 'pass-client.sh');
  writeFileSync(client, `#!/bin/sh\n[ "$1" = --vault-id ] && [ "$2" = dev ] && printf '%s' ${cmd(PW2)} || exit 3\n`);
  chmodSync(client, 0o755);
  const failing = join(dir, 'fail.sh');
  writeFileSync(failing, '#!/bin/sh\necho nope >&2\nexit 7\n');
  chmodSync(failing, 0o755);
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '\n');
  const got = await loadVaultSecrets({ vaultId: [`dev@${client}`, pw2], vaultPasswordFile: [script, pw1] });
  t.same(got.map((s) => [s.id, s.password.toString(), s.source]), [['dev', PW2, client], ['default', PW2, pw2], ['default', PW1, script], ['default', PW1, pw1]], '--vault-id first, then --vault-password-file, as Ansible orders them');
  await t.rejects(loadVaultSecrets({ vaultPasswordFile: [failing] }), { message: /fail\.sh: the vault password script failed: exited with code 7: nope/ });
  await t.rejects(loadVaultSecrets({ vaultPasswordFile: [empty] }), { message: /empty\.txt: the vault password is empty/ });
  await t.rejects(loadVaultSecrets({ vaultPasswordFile: [join(dir, 'missing')] }), { message: /missing: cannot read the vault password file: ENOENT/ });
  await t.rejects(loadVaultSecrets({ vaultId: ['dev@'] }), { message: /"dev@" is not LABEL@SOURCE/ });
});

t.test('no vault password: the file and the flag to pass', async (t) => {
  setVaultSecrets([]);
  const err = (await loadInventory(join(inv, 'hosts.yml'), { onWarning: () => {} }).catch((e) => e)) as InventoryError;
  t.match(err.message, /hosts\.yml:7: the !vault value of variable "token" is encrypted with Ansible Vault \(vault id dev\), and no vault password was given \(key: token\)\. Pass the vault password with --vault-password-file FILE/);
});

/** ansible-inventory's --list with every decrypted value masked, as our CLI prints it. */
async function maskedAnsibleList(): Promise<unknown> {
  const theirs = (await ansibleList(BOTH)) as Record<string, any>;
  const mask = (v: unknown): unknown => {
    if (typeof v === 'string') return DECRYPTED.includes(v) ? '********' : v;
    if (Array.isArray(v)) return v.map(mask);
    if (v && typeof v === 'object') return '__ansible_vault' in v ? '********' : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return v;
  };
  return mask(theirs);
}

t.test('CLI: inventory --list decrypts, masks what it decrypted, and equals ansible-inventory', async (t) => {
  const r = await runCli(['inventory', '-i', join(inv, 'hosts.yml'), '--list', ...BOTH]);
  t.equal(r.code, 0, r.stderr);
  for (const s of [...DECRYPTED, PW1, PW2]) t.notOk(r.stdout.includes(s.trimEnd()), `${JSON.stringify(s)} is not printed`);
  t.same(JSON.parse(r.stdout), await maskedAnsibleList());
  // --ask-vault-pass reads one line from stdin when it is not a terminal
  const asked = await runCli(['inventory', '-i', join(inv, 'hosts.yml'), '--list', '--ask-vault-pass', '--vault-id', `dev@${pw2}`], { input: `${PW1}\n` });
  t.equal(asked.code, 0, asked.stderr);
  t.same(JSON.parse(asked.stdout), JSON.parse(r.stdout));
  const bad = await runCli(['inventory', '-i', join(inv, 'hosts.yml'), '--list', '--vault-password-file', wrong]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^ERROR! .*hosts\.yml:7: cannot decrypt the !vault value of variable "token" \(vault id dev\): no vault password given fits \(tried vault ids: default \(.*wrong\.txt\)\)/);
  t.notOk(bad.stderr.includes('not-the-password'), 'the wrong password is not printed');
  const none = await runCli(['inventory', '-i', join(inv, 'hosts.yml'), '--list']);
  t.equal(none.code, 1);
  t.match(none.stderr, /no vault password was given.*--vault-password-file FILE/);
});

t.test('CLI: --ask-vault-pass on a terminal does not echo the password', async (t) => {
  const line = cmd(process.execPath, CLI, 'inventory', '-i', join(inv, 'hosts.yml'), '--list', '--ask-vault-pass', '--vault-id', `dev@${pw2}`);
  // type the password once the prompt is shown, as a person would (typed earlier, the terminal
  // would echo it before the prompt turned echo off)
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const p = spawn('script', ['-qec', `${line} >${cmd(join(dir, 'tty-out.json'))}`, '/dev/null'], { env: ANSIBLE_ENV });
    let stdout = '';
    let stderr = '';
    let typed = false;
    p.stdout.on('data', (d) => {
      stdout += d;
      if (!typed && stdout.includes('Vault password: ')) {
        typed = true;
        p.stdin.write(`${PW1}\r`);
      }
    });
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  t.equal(r.code, 0, r.stderr + r.stdout);
  t.match(r.stdout, /Vault password: /, 'the prompt is shown');
  t.notOk(r.stdout.includes(PW1), 'the password typed is not echoed');
  t.same(JSON.parse(readFileSync(join(dir, 'tty-out.json'), 'utf8')), await maskedAnsibleList());
});

t.test('a vaulted variable that reaches a diff is masked in text, --diff and --json output', async (t) => {
  // the sample playbook renders sample_message into /etc/smbdirect-sample.conf; --check changes nothing
  const local = join(dir, 'local.yml');
  writeFileSync(local, 'all:\n  hosts:\n    ctl: { ansible_connection: local }\n');
  const msg = 'vaulted-sample-message-XYZ';
  const vars = join(dir, 'msg.yml');
  writeFileSync(vars, await encryptString(msg, 'sample_message', ['--vault-id', `dev@${pw2}`], ''));
  const env = { SMBDIRECT_CACHE_DIR: tmp('sd-vault-cache-') };
  const base = ['run', 'sample', '-i', local, '--check', '--diff', '-e', `@${vars}`, '--vault-id', `dev@${pw2}`];
  const text = await runCli(base, { env });
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /\+message = \*\*\*\*\*\*\*\*\n/, 'the diff shows the line, masked');
  t.notOk(text.stdout.includes(msg) || text.stderr.includes(msg), 'the value is not in the text output');
  const json = await runCli([...base, '--json'], { env });
  t.equal(json.code, 0, json.stderr);
  t.match(json.stdout, /message = \*\*\*\*\*\*\*\*/);
  t.notOk(json.stdout.includes(msg), 'the value is not in the JSON lines');
  // the control: the same value in plain text is shown, so the masking above is the vault's doing
  const plain = await runCli(['run', 'sample', '-i', local, '--check', '--diff', '-e', `sample_message=${msg}`], { env });
  t.match(plain.stdout, `+message = ${msg}`);
});

t.test('host and group names stay visible when a vault file also holds them; vault strings and passwords stay masked', async (t) => {
  const d = join(dir, 'names');
  mkdirSync(join(d, 'group_vars'), { recursive: true });
  writeFileSync(join(d, 'hosts.yml'), 'all:\n  children:\n    peers:\n      hosts:\n        ctl1: { ansible_connection: local }\n');
  // a mount's server or a peer list names hosts: in a vault file, those are vault strings too
  await encryptFile(join(d, 'group_vars', 'all.yml'), 'peer: ctl1\npeer_group: peers\nword: vaulted-word-123\n', ['--vault-password-file', pw1]);
  const r = await runCli(['exec', 'ctl1', '-i', join(d, 'hosts.yml'), '--vault-password-file', pw1, '--', 'echo vaulted-word-123 ctl1 peers'], { env: { SMBDIRECT_CACHE_DIR: tmp('sd-vault-cache-') } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'ctl1 | CHANGED | rc=0 >>\n******** ctl1 peers\n', 'the host and group names shown, the other vault string masked');
  // the unit: a name registered as a password stays masked
  const { forgetSecrets, registerSecret } = await import('../src/secrets.js');
  registerSecret('name-and-vault-string', 'vaultValue');
  registerSecret('name-and-password');
  forgetSecrets(['name-and-vault-string', 'name-and-password']);
  t.equal(redact('name-and-vault-string name-and-password'), 'name-and-vault-string ********');
});
