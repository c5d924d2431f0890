import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from '../src/secrets.js';
import { loadPassword, passwordPath, passwordProblem, PasswordError, type ReadFile } from '../src/smb/passwords.js';

const fake = (data: Buffer | string, mode = 0o100600): ReadFile => () => ({ data, mode });

t.test('a password file loses exactly one trailing newline, nothing else', async (t) => {
  const user = { name: 'alice', passwordFile: '/pw' };
  t.equal(loadPassword(user, {}, fake('s3cret\n')).password, 's3cret');
  t.equal(loadPassword(user, {}, fake('s3cret\r\n')).password, 's3cret');
  t.equal(loadPassword(user, {}, fake('  s3cret  ')).password, '  s3cret  ', 'blanks are part of the password');
  t.throws(() => loadPassword(user, {}, fake('s3cret\n\n')), {
    name: 'PasswordError',
    message: 'ksmbd user alice: password_file /pw: the password contains a line break, which a cifs credentials file cannot hold (one line per key, no quoting); change the password',
  });
});

t.test('hostile but legal passwords survive unchanged and are registered as secrets', async (t) => {
  const hostile = [`it's "quoted"`, '$(touch /tmp/pwned)', '`id`', 'pässwörd ☃ 🔑', 'a=b,c;d#e\\f', '\ttab-led'];
  for (const pw of hostile) {
    t.equal(loadPassword({ name: 'bob', passwordEnv: 'PW' }, { PW: pw }).password, pw, JSON.stringify(pw));
    t.equal(loadPassword({ name: 'bob', passwordFile: '/pw' }, {}, fake(Buffer.from(`${pw}\n`, 'utf8'))).password, pw);
    t.notMatch(redact(`value: ${pw}`), pw, 'masked in output');
  }
});

t.test('limits: length in UTF-8 bytes, empty, control characters', async (t) => {
  t.equal(passwordProblem('x'.repeat(128)), undefined);
  t.equal(passwordProblem('x'.repeat(129)), 'the password is 129 bytes; ksmbd accepts at most 128 bytes (UTF-8)');
  t.equal(passwordProblem('€'.repeat(43)), 'the password is 129 bytes; ksmbd accepts at most 128 bytes (UTF-8)');
  t.equal(passwordProblem(''), 'the password is empty');
  t.equal(passwordProblem('a\u0000b'), 'the password contains a control character (ksmbd.adduser refuses them too)');
  t.equal(passwordProblem('a\rb'), 'the password contains a line break, which a cifs credentials file cannot hold (one line per key, no quoting)');
});

t.test('errors name the user and the source and never contain the password', async (t) => {
  const u = { name: 'carol', passwordEnv: 'CAROL_PW' };
  t.throws(() => loadPassword(u, {}), { message: 'ksmbd user carol: environment variable CAROL_PW is not set on the controller; export CAROL_PW=... before running, or use password_file' });
  t.throws(() => loadPassword(u, { CAROL_PW: '' }), { message: 'ksmbd user carol: environment variable CAROL_PW: the password is empty; change the password' });
  const long = `topsecret-${'x'.repeat(200)}`;
  const err = t.throws(() => loadPassword(u, { CAROL_PW: long })) as Error;
  t.ok(err instanceof PasswordError);
  t.notMatch(err.message, 'topsecret');
  const f = { name: 'dave', passwordFile: '/nope' };
  const enoent: ReadFile = () => {
    throw Object.assign(new Error('x'), { code: 'ENOENT' });
  };
  t.throws(() => loadPassword(f, {}, enoent), { message: 'ksmbd user dave: password_file /nope does not exist on the controller; create it with the password on one line and chmod 600 it' });
  const eacces: ReadFile = () => {
    throw Object.assign(new Error('x'), { code: 'EACCES' });
  };
  t.throws(() => loadPassword(f, {}, eacces), { message: 'ksmbd user dave: cannot read password_file /nope (EACCES); check its permissions on the controller' });
  t.throws(() => loadPassword(f, {}, fake(Buffer.from([0x61, 0xff, 0x62]))), { message: 'ksmbd user dave: password_file /nope is not valid UTF-8; save it as UTF-8 (ksmbd hashes the UTF-16LE form of a UTF-8 password)' });
});

t.test('a real file: mode warning, relative paths under baseDir, ~ under home', async (t) => {
  const dir = t.testdir({ 'alice.pw': 'from-file\n', 'open.pw': 'world-readable\n' });
  chmodSync(join(dir, 'alice.pw'), 0o600);
  chmodSync(join(dir, 'open.pw'), 0o644);
  t.same(loadPassword({ name: 'alice', passwordFile: 'alice.pw' }, {}, undefined, dir), { password: 'from-file', warnings: [] });
  const open = loadPassword({ name: 'eve', passwordFile: join(dir, 'open.pw') });
  t.equal(open.password, 'world-readable');
  t.same(open.warnings, [`ksmbd user eve: password_file ${join(dir, 'open.pw')} is readable by group or others (mode 0644); run chmod 600 ${join(dir, 'open.pw')}`]);
  t.match(passwordPath('~/x.pw'), /\/x\.pw$/);
  t.notMatch(passwordPath('~/x.pw'), '~');
  t.equal(passwordPath('/abs/p', '/base'), '/abs/p');
  t.equal(passwordPath('rel/p', '/base'), '/base/rel/p');
  writeFileSync(join(dir, 'bom.pw'), '\ufeffbom\n');
  t.equal(loadPassword({ name: 'f', passwordFile: join(dir, 'bom.pw') }).password, 'bom', 'a UTF-8 byte order mark is not part of the password');
});

t.test('a password_file encrypted with ansible-vault encrypt is decrypted with the run\'s vault passwords', async (t) => {
  // made by Debian's ansible-vault 2.14: printf 'al1ce "pw" $x\n' >f; ansible-vault encrypt --vault-password-file v f (v: vpw-test)
  const vaulted = `$ANSIBLE_VAULT;1.1;AES256
64313263373837326130326163343630353532633237386131376162646632626463666237373362
6562336139633134396331396461353439363034643038610a333664623864663631316365646261
32626637363863363661626263353865653266333636333339616264363966643130353162623838
3634616539633136650a333062343166653461373238616135643061396330656138313333303534
6365
`;
  const user = { name: 'alice', passwordFile: '/pw' };
  const { setVaultSecrets } = await import('../src/inventory/vault.js');
  t.teardown(() => setVaultSecrets([]));
  setVaultSecrets([]);
  t.throws(() => loadPassword(user, {}, fake(vaulted)), { name: 'PasswordError', message: /^ksmbd user alice: password_file \/pw: .*encrypted with Ansible Vault, and no vault password was given.*; pass the vault password/ });
  setVaultSecrets([{ id: 'default', password: Buffer.from('wrong-one'), source: 'test' }]);
  t.throws(() => loadPassword(user, {}, fake(vaulted)), { name: 'PasswordError', message: /password_file \/pw: .*cannot decrypt this password_file.*HMAC/ });
  setVaultSecrets([{ id: 'default', password: Buffer.from('vpw-test'), source: 'test' }]);
  const pw = loadPassword(user, {}, fake(vaulted)).password;
  t.equal(pw, 'al1ce "pw" $x', 'decrypted, then one trailing newline dropped as for a plain file');
  t.equal(redact(`x ${pw} y`), 'x ******** y', 'and masked');
});
