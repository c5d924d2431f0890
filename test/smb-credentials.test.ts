import t from 'tap';
import { credentialsFile, credentialsPath } from '../src/smb/credentials.js';

/**
 * Port of cifs-utils mount.cifs.c open_cred_file() + parse_cred_line() (piastry/cifs-utils
 * @25ba696): fgets lines, skip leading blanks, cut at the newline, value = after the first "=",
 * key by case-insensitive prefix ("user", "pass2"/"password2", "pass", "dom").
 */
function mountCifsReads(file: string): { username?: string; password?: string; domain?: string } {
  const out: { username?: string; password?: string; domain?: string } = {};
  for (const raw of file.split(/(?<=\n)/)) {
    const line = raw.replace(/^[ \t]+/, '').replace(/\n.*$/s, '');
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const value = line.slice(eq + 1);
    const key = line.toLowerCase();
    if (key.startsWith('user')) out.username = value;
    else if (key.startsWith('pass2') || key.startsWith('password2')) continue;
    else if (key.startsWith('pass')) out.password = value;
    else if (key.startsWith('dom')) out.domain = value;
  }
  return out;
}

t.test('credentials files carry hostile passwords through mount.cifs parsing unchanged', async (t) => {
  const hostile = [`it's "quoted"`, '$(touch /tmp/pwned)', '`id`', 'pässwörd ☃', 'a=b=c', 'comma,in,it', '  leading and trailing  ', 'semi;colon#hash', 'back\\slash', 'tab\tin'];
  for (const pw of hostile) {
    const file = credentialsFile('alice', pw, 'WORKGROUP');
    t.same(mountCifsReads(file), { username: 'alice', password: pw, domain: 'WORKGROUP' }, JSON.stringify(pw));
  }
  t.equal(credentialsFile('alice', 'pw'), 'username=alice\npassword=pw\n');
  t.equal(credentialsFile('üser', 'pw', 'DOM'), 'username=üser\npassword=pw\ndomain=DOM\n');
});

t.test('values a credentials file cannot hold are refused, without echoing the password', async (t) => {
  const err = t.throws(() => credentialsFile('alice', 'two\nlines-secret')) as Error;
  t.equal(err.message, 'credentials file for "alice": the password contains a line break, which a cifs credentials file cannot hold (one line per key, no quoting)');
  t.notMatch(err.message, 'lines-secret');
  t.throws(() => credentialsFile('a,b', 'pw'), { message: 'credentials file for "a,b": a ksmbd user name cannot contain blanks, ",", ";" or "#" (they break ksmbd.conf user lists and the cifs credentials file)' });
  t.throws(() => credentialsFile('alice', 'pw', 'D,sec=none'), { message: 'credentials file for "alice": a domain cannot be empty or contain "," or control characters' });
  t.throws(() => credentialsFile('alice', ''), { message: 'credentials file for "alice": the password is empty' });
});

t.test('credentialsPath is one safe file name per (server, user)', async (t) => {
  t.equal(credentialsPath('srv1', 'alice'), '/etc/smbdirect-provision/credentials/srv1@alice');
  t.equal(credentialsPath('srv.example', 'ü s,x'), '/etc/smbdirect-provision/credentials/srv.example@%C3%BC%20s%2Cx');
  t.notMatch(credentialsPath('a/../b', 'x y'), /[\s,]|\/\.\.\//);
});
