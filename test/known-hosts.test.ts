import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { fingerprint, hostToken, parseKnownHosts, readKnownHosts, recordKey, verdict } from '../src/connection/known-hosts.js';

// Real keys made by ssh-keygen, so blobs and fingerprints are the genuine article.
function keygen(dir: string, name: string): { blob: Buffer; line: string; fp: string } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/${name}`]);
  const line = readFileSync(`${dir}/${name}.pub`, 'utf8').trim();
  const fp = execFileSync('ssh-keygen', ['-l', '-f', `${dir}/${name}.pub`]).toString().split(' ')[1]!;
  return { blob: Buffer.from(line.split(' ')[1]!, 'base64'), line, fp };
}

t.test('match, unknown, changed', async (t) => {
  const d = t.testdir({});
  const a = keygen(d, 'a');
  const b = keygen(d, 'b');
  const text = `# comment\n10.0.0.5 ${a.line.split(' ').slice(0, 2).join(' ')}\n[10.0.0.6]:2222 ${b.line.split(' ').slice(0, 2).join(' ')}\n`;
  t.same(verdict(text, ['10.0.0.5'], a.blob), { status: 'match' });
  t.same(verdict(text, [hostToken('10.0.0.6', 2222)], b.blob), { status: 'match' });
  t.same(verdict(text, ['10.0.0.7'], a.blob), { status: 'unknown' });
  t.equal(verdict(text, ['10.0.0.5'], b.blob).status, 'changed');
  t.equal(verdict(text, ['10.0.0.6'], b.blob).status, 'unknown', 'port 22 is a different token');
});

t.test('hashed entries and patterns', async (t) => {
  const d = t.testdir({});
  const a = keygen(d, 'a');
  const salt = Buffer.from('0123456789abcdefghij');
  const hash = createHmac('sha1', salt).update('srv01').digest('base64');
  const keyPart = a.line.split(' ').slice(0, 2).join(' ');
  t.same(verdict(`|1|${salt.toString('base64')}|${hash} ${keyPart}\n`, ['srv01'], a.blob), { status: 'match' });
  t.same(verdict(`srv*,!srv9 ${keyPart}\n`, ['srv01'], a.blob), { status: 'match' });
  t.same(verdict(`srv*,!srv9 ${keyPart}\n`, ['srv9'], a.blob), { status: 'unknown' });
});

t.test('fingerprint equals ssh-keygen -l; recordKey appends a line ssh accepts', async (t) => {
  const d = t.testdir({});
  const a = keygen(d, 'a');
  t.equal(fingerprint(a.blob), a.fp);
  await recordKey(`${d}/kh`, '[127.0.0.9]:2200', a.blob);
  t.same(verdict(readFileSync(`${d}/kh`, 'utf8'), ['[127.0.0.9]:2200'], a.blob), { status: 'match' });
  const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.9]:2200', '-f', `${d}/kh`]).toString();
  t.match(found, /ssh-ed25519/);
});

t.test('one index per file for every connection of a run; a file that changed is read again', async (t) => {
  const d = t.testdir({});
  const a = keygen(d, 'a');
  const b = keygen(d, 'b');
  const keyA = a.line.split(' ').slice(0, 2).join(' ');
  writeFileSync(`${d}/kh`, `10.0.0.5,srv01 ${keyA}\nsrv* ${b.line.split(' ').slice(0, 2).join(' ')}\n`);
  const first = await readKnownHosts(`${d}/kh`);
  t.equal(await readKnownHosts(`${d}/kh`), first, 'the same index, not another copy');
  t.same(first.byName.get('srv01'), [{ type: 'ssh-ed25519', blob: keyA.split(' ')[1] }], 'plain names indexed, each name of a line');
  t.equal(first.scanned.length, 1, 'a wildcard line is scanned');
  t.same(verdict([first], ['srv01'], a.blob), { status: 'match' });
  t.equal(verdict([first], ['srv02'], a.blob).status, 'changed', 'srv* records another key of the type');
  await recordKey(`${d}/kh`, '[127.0.0.9]:2200', a.blob);
  const after = await readKnownHosts(`${d}/kh`);
  t.not(after, first, 'an appended key: the file is read again');
  t.same(verdict([after], ['[127.0.0.9]:2200'], a.blob), { status: 'match' });
  t.same(await readKnownHosts(`${d}/none`), parseKnownHosts(''), 'a missing file: no keys');
});

t.test('connection options refuse a port that is not a whole number', async (t) => {
  const { connectOptions } = await import('../src/connection/options.js');
  t.throws(() => connectOptions({ name: 'h', groups: [], vars: { ansible_port: '22; id' } }, { timeoutMs: 1000 }), /h: ansible_port must be a whole number/);
  t.equal(connectOptions({ name: 'h', groups: [], vars: { ansible_port: '2222' } }, { timeoutMs: 1000 }).port, 2222);
});
