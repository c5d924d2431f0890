// Failures read as messages: a real failed command (zx), a failed long step (which names the log
// file holding its whole output), and the CLI's final line; never a stack frame unless
// SMBDIRECT_DEBUG is set.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { errorMessage, reportError } from '../src/errors.js';
import { runCli } from './helpers/lab.js';
import { StepError, follow, step } from '../src/progress.js';

const logDir = mkdtempSync(join(tmpdir(), 'smbd-logs-'));
process.env.SMBDIRECT_LOG_DIR = logDir;
const FRAME = /^\s+at \S/m;

const failing = () => $({ quiet: true })`sh -c ${'echo progress; echo "disk full" >&2; exit 3'}`;

t.test('a failed command: its stderr and exit code, no zx call site', async (t) => {
  const err = await failing().then(() => undefined, (e: unknown) => e);
  t.match((err as Error).message, FRAME, 'zx itself puts a call site in the message (what we strip)');
  const msg = errorMessage(err);
  t.equal(msg, 'disk full (exit 3)');
  t.notMatch(msg, FRAME);
});

t.test('a command that does not exist says so', async (t) => {
  const err = await $({ quiet: true })`no-such-program-smbd`.then(() => undefined, (e: unknown) => e);
  t.match(errorMessage(err), /no-such-program-smbd: command not found \(exit 127, command not found\)/);
});

t.test('a failed step names itself, the reason and the log file with the whole output', async (t) => {
  const lines: string[] = [];
  const err = await step((l) => lines.push(l), 'vm image: debootstrap bookworm', (note) => follow(failing(), note))
    .then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof StepError);
  const msg = (err as Error).message;
  t.match(msg, /^vm image: debootstrap bookworm failed after [\d.]+s: disk full \(exit 3\)\nWhole output: /);
  t.notMatch(msg, FRAME);
  const file = /Whole output: (\S+)/.exec(msg)![1]!;
  t.equal(readdirSync(logDir).length, 1);
  t.equal(file, join(logDir, readdirSync(logDir)[0]!));
  t.match(readFileSync(file, 'utf8'), /progress\n[\s\S]*disk full/, 'the log holds stdout and stderr');
  t.match(lines.at(-1), /FAILED after/);
});

t.test('the report: one ERROR! line; the stack only with SMBDIRECT_DEBUG', async (t) => {
  const out: string[] = [];
  delete process.env.SMBDIRECT_DEBUG;
  reportError(new Error('boom'), (s) => out.push(s));
  t.same(out, ['ERROR! boom\n']);
  process.env.SMBDIRECT_DEBUG = '1';
  reportError(new Error('boom'), (s) => out.push(s));
  delete process.env.SMBDIRECT_DEBUG;
  t.match(out[2], FRAME, 'the stack with SMBDIRECT_DEBUG=1');
});

t.test('the CLI ends a failure with one plain message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smbd-inv-'));
  const r = await runCli(['run', 'site', '-i', join(dir, 'missing.yml')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^ERROR! .*missing\.yml/m);
  t.notMatch(r.stderr, FRAME);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  const d = await runCli(['run', 'site', '-i', join(dir, 'missing.yml')], { env: { SMBDIRECT_DEBUG: '1' } });
  t.match(d.stderr, FRAME, 'SMBDIRECT_DEBUG=1 shows the stack');
});
