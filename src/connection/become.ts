// Become: the remote command that runs our `sh -s`, and, when a password is needed, the
// conversation that gives it to sudo (or su) on the command's stdin (an ssh2 channel, or the pipes
// of an `ssh` child: the same converse() for both), never in argv or the environment of any
// process. This is Ansible's own exchange: a prompt unique to the connection
// (`sudo -S -p PROMPT`), the password written only when that prompt appears, and a marker echoed
// by the command once it runs as the target user; the script is sent only after the marker, so a
// wrong password can never swallow script lines, and a host where sudo asks nothing (NOPASSWD,
// cached credentials) never receives the password at all. Still one round trip per run().
import { randomBytes } from 'node:crypto';
import type { Client, ClientChannel } from 'ssh2';
import { cmd } from '../quote.js';
import { UnreachableError } from './errors.js';
import type { BecomeMethod, Secret } from './passwords.js';

/** A become failure on a host (wrong password, sudo refusing): the host FAILED, it is not unreachable. */
export class BecomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BecomeError';
  }
}

export interface BecomeOptions {
  host: string;
  user: string;
  become: boolean;
  becomeUser: string;
  becomeMethod?: BecomeMethod;
  becomeFlags?: string[];
  becomePassword?: Secret;
}

/** The remote command; with `auth`, the conversation run() must hold before sending the script. */
export interface BecomeCommand {
  command: string;
  auth?: { prompt: string; marker: string; password: Secret; method: BecomeMethod; login: string; target: string; host: string };
}

export function becomeCommand(o: BecomeOptions): BecomeCommand {
  if (!o.become || o.user === o.becomeUser) return { command: 'sh -s' };
  const method = o.becomeMethod ?? 'sudo';
  if (!o.becomePassword) {
    // su cannot work without a password; sudo -n refuses at once instead of waiting for one
    if (method === 'su') throw new BecomeError(`ansible_become_method su needs the password of ${o.becomeUser} on ${o.host}: set ansible_become_password or pass --ask-become-pass`);
    return { command: `${cmd('sudo', '-n', ...(o.becomeFlags ?? ['-H']), '-u', o.becomeUser)} sh -s` };
  }
  const key = randomBytes(16).toString('hex');
  const marker = `BECOME-SUCCESS-${key}`;
  const inner = `echo ${marker}; exec sh -s`;
  const auth = { marker, password: o.becomePassword, method, login: o.user, target: o.becomeUser, host: o.host };
  if (method === 'su') return { command: cmd('su', ...(o.becomeFlags ?? []), o.becomeUser, '-c', inner), auth: { ...auth, prompt: 'assword:' } };
  // -n would refuse before asking, -S is ours: both dropped from the user's flags (Ansible drops -n too)
  const flags = (o.becomeFlags ?? ['-H']).filter((f) => f !== '-n' && f !== '-S');
  const prompt = `[sudo via smbdirect, key=${key}] password:`;
  return { command: cmd('sudo', '-S', '-p', prompt, ...flags, '-u', o.becomeUser, 'sh', '-c', inner), auth: { ...auth, prompt } };
}

export interface ExecOutput { code: number | null; signal?: string; stdout: Buffer; stderr: Buffer }

const count = (text: string, what: string) => text.split(what).length - 1;

/** What to tell the user when become ended before the command ran. */
function refusal(a: NonNullable<BecomeCommand['auth']>, said: string): BecomeError {
  const text = said.split(a.prompt).join('').trim();
  if (!text || /incorrect password|Sorry, try again|Authentication failure/i.test(text)) {
    // sudo asks for the login user's password, su for the target user's
    const whose = a.method === 'sudo' ? a.login : a.target;
    return new BecomeError(`${a.method} refused the become password for ${whose} on ${a.host}: check ${a.password.from}`);
  }
  return new BecomeError(`${a.method} failed on ${a.host} before the command started (login ${a.login}): ${text.slice(-500)}`);
}

/** What the conversation needs of a running command, whatever carries it (an ssh2 channel, an `ssh` child's pipes). */
export interface BecomeStream {
  /** To the command's stdin; end() writes the last of it and closes it. */
  write(data: string): void;
  end(data: string): void;
  /** Stops the command (a refusal: no script line may follow the password). */
  close(): void;
  onStdout(cb: (b: Buffer) => void): void;
  onStderr(cb: (b: Buffer) => void): void;
  /** Once, after the command's output ended: its exit (code null: no exit status, the session died). */
  onDone(cb: (exit: { code: number | null; signal?: string }) => void): void;
}

/**
 * Holds the become conversation on a started command: the password once, after the first prompt;
 * a second prompt means it was refused (the command is stopped: no retry with the script's
 * lines). After the marker, the script goes on stdin; output before it is dropped.
 */
export function converse(a: NonNullable<BecomeCommand['auth']>, script: string, s: BecomeStream): Promise<ExecOutput> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let said = ''; // stderr before the marker: sudo's own (lecture, prompt, "Sorry, try again")
    let seen = ''; // stdout before the marker
    let running = false;
    let sent = false;
    let failed: BecomeError | undefined;
    s.onStderr((b) => {
      if (running) return void err.push(b);
      said += b.toString('utf8');
      const prompts = count(said, a.prompt);
      if (prompts === 1 && !sent) {
        sent = true;
        s.write(`${a.password.value}\n`);
      } else if (prompts > 1 && !failed) {
        failed = refusal(a, said);
        s.close();
      }
    });
    s.onStdout((b) => {
      if (running) return void out.push(b);
      seen += b.toString('latin1');
      const at = seen.indexOf(`${a.marker}\n`);
      if (at < 0) return;
      running = true;
      const rest = Buffer.from(seen.slice(at + a.marker.length + 1), 'latin1');
      if (rest.length) out.push(rest);
      s.end(script);
    });
    s.onDone((exit) => {
      if (failed) return reject(failed);
      // no exit status: the session died (or a task timeout closed it), not a refusal
      if (!running && exit.code === null) return reject(new UnreachableError('connection to the host was lost during become'));
      if (!running) return reject(refusal(a, said));
      resolve({ code: exit.code, ...(exit.signal && { signal: exit.signal }), stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

/** The conversation on a new ssh2 channel running `c.command`. */
export function execWithBecome(client: Client, c: Required<BecomeCommand>, script: string, onChannel: (ch: ClientChannel) => void): Promise<ExecOutput> {
  return new Promise((resolve, reject) => {
    client.exec(c.command, (e, ch) => {
      if (e) return reject(e);
      onChannel(ch);
      let exit: { code: number | null; signal?: string } = { code: null };
      ch.on('exit', (code: number | null, signal?: string) => (exit = { code, ...(signal && { signal }) }));
      converse(c.auth, script, {
        write: (d) => ch.write(d),
        end: (d) => ch.end(d),
        close: () => ch.close(),
        onStdout: (cb) => ch.on('data', cb),
        onStderr: (cb) => ch.stderr.on('data', cb),
        onDone: (cb) => ch.on('close', () => cb(exit)),
      }).then(resolve, reject);
    });
  });
}
