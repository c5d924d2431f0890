import t from 'tap';
import { execFileSync } from 'node:child_process';
import { cmd, heredoc, quote } from '../src/quote.js';

// Every value must come back from a real sh exactly as it went in.
const echo = (word: string) => execFileSync('sh', ['-c', `printf '%s' ${word}`]).toString();

t.test('quote round-trips hostile values through a real sh', async (t) => {
  const values = ["it's", '$(touch /tmp/pwned)', '`id`', 'a b\tc', 'new\nline', '"dq"', '\\', '*', '~root', '-n', '', 'ünï ☃', "'", "''", '!x', ';rm -rf /', '$HOME'];
  for (const v of values) t.equal(echo(quote(v)), v, JSON.stringify(v));
});

t.test('plain words stay readable', async (t) => {
  t.equal(quote('/etc/ksmbd/ksmbd.conf'), '/etc/ksmbd/ksmbd.conf');
  t.equal(quote('vers=3.1.1,rdma'), 'vers=3.1.1,rdma');
  t.equal(quote(''), "''");
  t.equal(quote(445), '445');
});

t.test('cmd quotes every word', async (t) => {
  t.equal(cmd('systemctl', 'enable', 'a b'), "systemctl enable 'a b'");
});

t.test('NUL bytes are refused', async (t) => {
  t.throws(() => quote('a\0b'), /NUL/);
});

t.test('heredoc picks a delimiter absent from the body', async (t) => {
  const body = 'line\nSMBDIRECT_EOF\nmore';
  const d = heredoc(body);
  t.not(d.open, "<<'SMBDIRECT_EOF'");
  const out = execFileSync('sh', ['-c', `cat ${d.open}\n${d.body}`]).toString();
  t.equal(out, body + '\n');
});
