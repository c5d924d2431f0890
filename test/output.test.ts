import t from 'tap';
import { count, emptyStats, exitCode, JsonReporter, TextReporter } from '../src/engine/output.js';
import { registerSecret } from '../src/secrets.js';

function capture(fn: () => void): string {
  const orig = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try { fn(); } finally { process.stdout.write = orig; }
  return out;
}

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
