import t from 'tap';
import { md4, ntHash } from '../src/smb/md4.js';
import { usersDb, usersDbNames } from '../src/smb/users-db.js';

t.test('MD4 matches the RFC 1320 test suite', async (t) => {
  const vectors: Array<[string, string]> = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [msg, hex] of vectors) t.equal(md4(Buffer.from(msg)).toString('hex'), hex, JSON.stringify(msg));
});

t.test('MD4 across block boundaries (55, 56, 63, 64, 65, 119, 120 bytes of "a")', async (t) => {
  // Expected values from an independent implementation: OpenSSL's, e.g.
  // printf 'a%.0s' $(seq 56) | openssl dgst -md4 -provider legacy -provider default
  const expected: Array<[number, string]> = [
    [55, 'c889c81dd86c4d2e025778944ea02881'],
    [56, 'd5f9a9e9257077a5f08b0b92f348b0ad'],
    [63, '7ea3da77432d44c323671097d1348fc8'],
    [64, '52f5076fabd22680234a3fa9f9dc5732'],
    [65, '330e377bf231f3cacfecc2c182fe7e5b'],
    [119, 'e65dd227ccef97fa1d34d70189120f76'],
    [120, 'b03ddbd470b47c013e0c7ab2ddd763db'],
  ];
  for (const [n, hex] of expected) t.equal(md4(Buffer.alloc(n, 0x61)).toString('hex'), hex, `${n} bytes`);
});

t.test('NT hash is MD4 over UTF-16LE', async (t) => {
  t.equal(ntHash('password').toString('hex'), '8846f7eaee8fb117ad06bdd830b7586c');
  t.equal(ntHash('').toString('hex'), '31d6cfe0d16ae931b73c59d7e0c089c0');
  // Non-BMP characters become surrogate pairs, as g_convert(..., "UTF-16LE", "UTF-8") does:
  // U+1F600 is 3d d8 00 de; printf '\x3d\xd8\x00\xde' | openssl dgst -md4 -provider legacy -provider default
  t.equal(ntHash('😀').toString('hex'), '4b58a10cc20a4e7d808d218e1f80aabc');
});

/** Port of ksmbd-tools tools/config_parser.c is_a_user_password() (the reader of ksmbdpwd.db). */
function ksmbdAcceptsLine(line: string): boolean {
  const i = line.indexOf(':');
  if (i <= 0 || Buffer.byteLength(line.slice(0, i)) >= 48) return false;
  const name = line.slice(0, i);
  if (/[\u0000-\u0008\u000a-\u001f\u007f:]/.test(name)) return false;
  const hash = line.slice(i + 1).replace(/=+$/, '');
  return hash.length > 0 && /^[A-Za-z0-9+/]+$/.test(hash);
}

t.test('usersDb writes name:base64(nthash) lines that ksmbd-tools accepts', async (t) => {
  const hostile = ['password', `it's "quoted"`, '$(touch /tmp/pwned)', '`id`', 'pässwörd ☃', 'a=b,c;d#e', ' spaces around ', 'tab\there', 'x'.repeat(128)];
  const db = usersDb(hostile.map((password, i) => ({ name: `user${i}`, password })));
  const lines = db.split('\n');
  t.equal(lines.pop(), '', 'ends with one newline');
  t.equal(lines.length, hostile.length);
  lines.forEach((line, i) => {
    t.ok(ksmbdAcceptsLine(line), line);
    t.equal(line, `user${i}:${ntHash(hostile[i]!).toString('base64')}`);
    t.match(line, /==$/, 'padded base64 of 16 bytes');
  });
  t.equal(lines[0], 'user0:iEb36u6PsRetBr3YMLdYbA==');
  t.same(usersDbNames(db), hostile.map((_, i) => `user${i}`));
  t.equal(usersDb([]), '');
});

t.test('usersDb keeps the given order and refuses bad entries without showing the password', async (t) => {
  t.equal(usersDb([{ name: 'zed', password: 'p1' }, { name: 'amy', password: 'p2' }]).split('\n')[0]!.split(':')[0], 'zed');
  t.throws(() => usersDb([{ name: 'a:b', password: 'secret-1' }]), { message: 'ksmbdpwd.db: user "a:b": a ksmbd user name cannot contain ":" (it separates name and hash in ksmbdpwd.db)' });
  t.throws(() => usersDb([{ name: 'a', password: 'x' }, { name: 'a', password: 'y' }]), { message: 'ksmbdpwd.db: user "a": listed twice' });
  const err = t.throws(() => usersDb([{ name: 'bob', password: 'multi\nline-secret' }])) as Error;
  t.equal(err.message, 'ksmbdpwd.db: user "bob": the password contains a line break, which a cifs credentials file cannot hold (one line per key, no quoting)');
  t.notMatch(err.message, 'line-secret');
  t.throws(() => usersDb([{ name: 'bob', password: 'é'.repeat(65) }]), { message: 'ksmbdpwd.db: user "bob": the password is 130 bytes; ksmbd accepts at most 128 bytes (UTF-8)' });
});
