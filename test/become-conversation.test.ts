// The become conversation (become.ts converse()) on its own, over a fake command stream: the state
// machine both transports use (an ssh2 channel, the pipes of an OpenSSH `ssh` child). What goes
// to stdin and when, what the output is, and how it ends (refused, failed, lost).
import t from 'tap';
import { becomeCommand, BecomeError, converse, type BecomeStream } from '../src/connection/become.js';
import { UnreachableError } from '../src/connection/errors.js';

const PW = "canary-Pw 'q\"$x";
const SCRIPT = 'echo one\necho two\n';

/** A command that records its stdin; the test plays the host's side. */
function fake() {
  const h = { stdout: [] as Array<(b: Buffer) => void>, stderr: [] as Array<(b: Buffer) => void>, done: [] as Array<(e: { code: number | null; signal?: string }) => void> };
  const log: string[] = [];
  const s: BecomeStream = {
    write: (d) => void log.push(`write ${d}`),
    end: (d) => void log.push(`end ${d}`),
    close: () => void log.push('close'),
    onStdout: (cb) => void h.stdout.push(cb),
    onStderr: (cb) => void h.stderr.push(cb),
    onDone: (cb) => void h.done.push(cb),
  };
  return {
    s, log,
    out: (x: string) => h.stdout.forEach((cb) => cb(Buffer.from(x))),
    err: (x: string) => h.stderr.forEach((cb) => cb(Buffer.from(x))),
    exit: (code: number | null, signal?: string) => h.done.forEach((cb) => cb({ code, ...(signal && { signal }) })),
  };
}

const sudo = (from = 'ansible_become_password') => becomeCommand({ host: 'h', user: 'ops', become: true, becomeUser: 'root', becomePassword: { value: PW, from } }).auth!;

t.test('sudo asks: the password once after the prompt (even split), the script only after the marker', async (t) => {
  const a = sudo();
  const f = fake();
  const p = converse(a, SCRIPT, f.s);
  f.err('We trust you have received the usual lecture...\n');
  f.err(a.prompt.slice(0, 7));
  t.same(f.log, [], 'nothing before the whole prompt');
  f.err(a.prompt.slice(7));
  t.same(f.log, [`write ${PW}\n`], 'the password, once');
  f.out(`${a.marker.slice(0, 10)}`);
  t.same(f.log.length, 1, 'no script before the whole marker');
  f.out(`${a.marker.slice(10)}\nfirst line`);
  t.same(f.log, [`write ${PW}\n`, `end ${SCRIPT}`], 'then the script, and stdin is closed');
  f.out(' of output\n');
  f.err('a warning of the script\n');
  f.exit(3);
  const r = await p;
  t.same([r.code, r.stdout.toString(), r.stderr.toString()], [3, 'first line of output\n', 'a warning of the script\n'], 'sudo\'s lecture, prompt and the marker are not output');
});

t.test('sudo asks nothing (NOPASSWD, cached): the password is never written', async (t) => {
  const a = sudo();
  const f = fake();
  const p = converse(a, SCRIPT, f.s);
  f.out(`${a.marker}\n`);
  f.out('ran\n');
  f.exit(0);
  t.same((await p).stdout.toString(), 'ran\n');
  t.same(f.log, [`end ${SCRIPT}`], 'stdin is the script alone');
});

t.test('a second prompt: refused, the command stopped, the script never sent, never a hang', async (t) => {
  const a = sudo('ansible_become_password (set in host_vars/h.yml)');
  const f = fake();
  const p = converse(a, SCRIPT, f.s);
  f.err(a.prompt);
  f.err(`Sorry, try again.\n${a.prompt}`);
  t.same(f.log, [`write ${PW}\n`, 'close'], 'closed at the second prompt: no second try with script lines');
  f.exit(null, 'TERM');
  await t.rejects(p, new BecomeError('sudo refused the become password for ops on h: check ansible_become_password (set in host_vars/h.yml)'));
  t.notOk(f.log.some((l) => l.startsWith('end')), 'the script was never sent');
});

t.test('su: its prompt, and the target user\'s password named in a refusal', async (t) => {
  const a = becomeCommand({ host: 'h', user: 'ops', become: true, becomeUser: 'svc', becomeMethod: 'su', becomePassword: { value: PW, from: 'ansible_become_pass' } }).auth!;
  const f = fake();
  const p = converse(a, SCRIPT, f.s);
  f.err('Password: ');
  t.same(f.log, [`write ${PW}\n`]);
  f.err('\nsu: Authentication failure\n');
  f.exit(1);
  await t.rejects(p, new BecomeError('su refused the become password for svc on h: check ansible_become_pass'));
});

t.test('ended before the marker: sudo\'s own reason, or a lost session (no exit status)', async (t) => {
  const a = sudo();
  const f = fake();
  const p = converse(a, SCRIPT, f.s);
  f.err('ops is not in the sudoers file.\n');
  f.exit(1);
  await t.rejects(p, new BecomeError('sudo failed on h before the command started (login ops): ops is not in the sudoers file.'));
  const g = fake();
  const q = converse(a, SCRIPT, g.s);
  g.err(a.prompt);
  g.exit(null);
  await t.rejects(q, new UnreachableError('connection to the host was lost during become'));
  const k = fake();
  const r = converse(a, SCRIPT, k.s);
  k.out(`${a.marker}\npartial`);
  k.exit(null);
  t.same(await r.then((x) => [x.code, x.stdout.toString()]), [null, 'partial'], 'after the marker: the exit as it is (the transport says the session was lost)');
});
