import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { count, emptyStats, exitCode, JsonReporter, TextReporter } from '../src/engine/output.js';
import { registerSecret } from '../src/secrets.js';
import { jsonLineStrings } from './helpers/json.js';
import { CLI, tmp } from './helpers/lab.js';
import { capture } from './helpers/capture.js';
import { cmd } from '../src/quote.js';


t.test('exit codes: 0 fine, 2 failed, 4 unreachable wins', async (t) => {
  const s = (o: Partial<ReturnType<typeof emptyStats>>) => ({ ...emptyStats(), ...o });
  t.equal(exitCode(new Map([['a', s({ ok: 3 })]])), 0);
  t.equal(exitCode(new Map([['a', s({ failed: 1 })], ['b', s({})]])), 2);
  t.equal(exitCode(new Map([['a', s({ failed: 1 })], ['b', s({ unreachable: 1 })]])), 4);
});

t.test('ok counts include changed', async (t) => {
  const st = emptyStats();
  count(st, 'changed');
  count(st, 'ok');
  count(st, 'skipped');
  t.same(st, { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 1 });
});

t.test('text output reads like Ansible and masks secrets', async (t) => {
  registerSecret('s3cr3t-pw');
  const r = new TextReporter(0, true, false);
  const out = capture(() => {
    r.play('SMB servers');
    r.task('write config');
    r.result({ host: 'srv01', task: 'write config', status: 'changed', msg: 'password s3cr3t-pw', diff: '--- a\n+++ b\n' });
    r.result({ host: 'cli01', task: 'write config', status: 'failed', msg: 'exit 3' });
    r.result({ host: 'cli02', task: 'write config', status: 'unreachable', msg: 'timed out' });
    r.result({ host: 'cli03', task: 'write config', status: 'skipped', msg: 'not a server' });
    r.recap(new Map([['srv01', { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 0 }]]), new Map());
  });
  t.match(out, /^\nPLAY \[SMB servers\] \*{10,}/);
  t.match(out, /\nTASK \[write config\] \*+\n/);
  t.match(out, /changed: \[srv01\] => password \*{8}\n--- a/);
  t.match(out, /fatal: \[cli01\]: FAILED! => exit 3/);
  t.match(out, /fatal: \[cli02\]: UNREACHABLE! => timed out/);
  t.match(out, /skipping: \[cli03\] => not a server/);
  t.match(out, /PLAY RECAP \*+\nsrv01\s+: ok=2\s+changed=1\s+unreachable=0\s+failed=0\s+skipped=0\n/);
  t.notMatch(out, /s3cr3t-pw/);
  t.notMatch(out, /\x1b\[/, 'no colour when not a TTY');
});

t.test('json lines: one object per result, recap last', async (t) => {
  const r = new JsonReporter();
  const out = capture(() => {
    r.result({ host: 'h', task: 'T', status: 'ok', msg: '' });
    r.recap(new Map([['h', { ok: 1, changed: 0, unreachable: 0, failed: 0, skipped: 0 }]]), new Map([['h', 2]]));
  });
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  t.same(lines[0], { type: 'task', host: 'h', task: 'T', status: 'ok', msg: '' });
  t.same(lines.at(-1), { type: 'recap', hosts: { h: { ok: 1, changed: 0, unreachable: 0, failed: 0, skipped: 0 } } });
});

t.test('json lines: a secret with " and \\ is masked in every decoded value', async (t) => {
  const secret = 'pw"with\\back"\\slash';
  registerSecret(secret);
  const r = new JsonReporter();
  const out = capture(() => {
    r.result({ host: 'h', task: 'T', status: 'failed', msg: `login as alice with ${secret} refused`, warnings: [`w ${secret}`], diff: `+password=${secret}\n`, report: `| ${secret} |` });
    r.warn('h', `again ${secret}`);
    r.recap(new Map([['h', { ok: 0, changed: 0, unreachable: 0, failed: 1, skipped: 0 }]]), new Map([['h', 1]]));
  });
  const values = jsonLineStrings(out);
  t.same(values.filter((v) => v.includes(secret)), [], 'no decoded JSON value holds the secret');
  t.ok(values.includes('login as alice with ******** refused'), 'the message is there, masked');
  t.ok(values.includes('+password=********\n'), 'the diff is there, masked');
});

/** A port on 127.0.0.1 that nothing listens on (connection refused: the host is unreachable at once). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Runs `smbdirect run sample` on one unreachable host, under a real pseudo-terminal (script(1)) or piped. */
async function runReal(how: 'tty' | 'pipe', env: Record<string, string>): Promise<string> {
  const dir = tmp('sd-colour-');
  // A key of its own, so the run gets as far as the (refused) TCP connection whatever ~/.ssh holds.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  writeFileSync(join(dir, 'hosts.yml'), `all:\n  hosts:\n    h1: { ansible_host: 127.0.0.1, ansible_port: ${await closedPort()}, ansible_ssh_private_key_file: ${join(dir, 'key')} }\n`);
  const args = [CLI, 'run', 'sample', '-i', join(dir, 'hosts.yml')];
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NO_COLOR', 'FORCE_COLOR'].includes(k))) as Record<string, string>;
  const [file, argv] = how === 'tty'
    ? ['script', ['-qec', cmd(process.execPath, ...args), '/dev/null']]
    : [process.execPath, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { env: { ...base, ...env } }, (err, stdout, stderr) => {
      if (err && err.code !== 4) reject(err);
      else resolve(`${stdout}${stderr}`);
    });
  });
}
const SGR = /\x1b\[[0-9;]*m/;

t.test('colour: the CLI detects a real TTY, honours NO_COLOR, and is plain when piped', async (t) => {
  const tty = await runReal('tty', {});
  t.match(tty, /\x1b\[31mfatal: \[h1\]: UNREACHABLE! => connection refused/, 'on a TTY: the failure in red');
  t.match(tty, /\x1b\[31mh1 +\x1b\[39m: ok=0/, 'on a TTY: the recap line coloured');
  const noColour = await runReal('tty', { NO_COLOR: '1' });
  t.match(noColour, /fatal: \[h1\]: UNREACHABLE! => connection refused/);
  t.notMatch(noColour, SGR, 'NO_COLOR=1 on a TTY: no colour');
  const piped = await runReal('pipe', {});
  t.match(piped, /fatal: \[h1\]: UNREACHABLE! => connection refused/);
  t.notMatch(piped, SGR, 'piped: no colour');
});
