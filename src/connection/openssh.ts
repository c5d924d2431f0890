// The OpenSSH transport: the system's `ssh` client where ssh2 cannot log in (certificates,
// GSSAPI, FIDO keys, PKCS#11, a ControlPath the user keeps). One master per host (ControlMaster)
// holds the only TCP connection and login of the run; every run() is a session through it with
// the script on stdin to `sh -s`, as with ssh2. The sockets live in a 0700 directory of this run,
// removed when its last connection closes; each master is stopped with `ssh -O exit`.
// Secrets: none reaches ssh's argv or environment. A login password is refused (see refuseSecrets);
// a become password is given to sudo or su on the session's stdin, as over ssh2 (become.ts).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, RunOutput } from '../types.js';
import { becomeCommand, converse, type BecomeCommand } from './become.js';
import { UnreachableError } from './errors.js';
import { controlArgs, masterArgs, sessionArgs, sshArgs, strictMode, type Control } from './openssh-args.js';
import type { ConnectOptions } from './options.js';
import type { HostKeyPolicy } from './ssh.js';

interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: Buffer; timedOut: boolean }

/** Starts ssh (ours: killed by its PID at the deadline); `ended` resolves once it exited and its pipes closed. */
function startSsh(args: string[], timeoutMs?: number): { child: ChildProcessWithoutNullStreams; ended: Promise<Omit<Exit, 'stdout' | 'stderr'>> } {
  const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let timedOut = false;
  const timer = timeoutMs ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), timeoutMs) : undefined;
  child.stdin.on('error', () => undefined); // EPIPE when ssh ends before reading the script: its exit says why
  const ended = new Promise<Omit<Exit, 'stdout' | 'stderr'>>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // the client is needed only where it was chosen, so it may be missing: say which package has it
      reject(e.code === 'ENOENT' ? new UnreachableError('the OpenSSH client `ssh` is not installed here (Debian package openssh-client); install it or set smbdirect_ssh_client: ssh2') : e);
    });
    // 'close' waits for the pipes: a master that went to the background (-f) gives them up (/dev/null)
    child.on('close', (code, signal) => (clearTimeout(timer), resolve({ code, signal, timedOut })));
  });
  return { child, ended };
}

/** Runs ssh, feeding `input`; resolves on exit. */
async function ssh(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Exit> {
  const { child, ended } = startSsh(args, opts.timeoutMs);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.end(opts.input ?? '');
  return { ...(await ended), stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

/**
 * Runs a become command through ssh and holds its conversation (become.ts) on the child's pipes:
 * the password goes into ssh's stdin, as the script does, never into an argv or environment.
 */
async function sshBecome(args: string[], auth: NonNullable<BecomeCommand['auth']>, script: string, timeoutMs?: number): Promise<Exit> {
  const { child, ended } = startSsh(args, timeoutMs);
  let done: ((exit: { code: number | null; signal?: string }) => void) | undefined;
  const talk = converse(auth, script, {
    write: (d) => void child.stdin.write(d),
    end: (d) => void child.stdin.end(d),
    // a refusal: no more input, and this session's ssh is stopped (the master and the others stay)
    close: () => (child.stdin.end(), child.kill('SIGTERM')),
    onStdout: (cb) => child.stdout.on('data', cb),
    onStderr: (cb) => child.stderr.on('data', cb),
    onDone: (cb) => (done = cb),
  });
  talk.catch(() => undefined); // read below, unless ssh itself failed first
  // the end of ssh's stderr, for its own reason when it fails (255); sudo never echoes the password
  let tail = '';
  child.stderr.on('data', (b: Buffer) => (tail = (tail + b.toString('utf8')).slice(-2000)));
  const r = await ended;
  const lost = { ...r, stdout: Buffer.alloc(0), stderr: Buffer.from(tail) };
  if (r.timedOut) return lost;
  // 255 is ssh's own failure (the link or the master is gone; also its exit on our SIGTERM after
  // a refusal, which the conversation knows): no exit status of the command
  done!({ code: r.code === 255 ? null : r.code, ...(r.signal && { signal: r.signal }) });
  const o = await talk.catch((e: unknown) => {
    if (r.code === 255 && e instanceof UnreachableError) return undefined; // lost before the marker: ssh's reason, in run()
    throw e;
  });
  // r.code as ssh gave it: run() reads 255 (or a signal) as a lost connection, as without become
  return o ? { ...r, stdout: o.stdout, stderr: o.stderr } : lost;
}

/** The run's control directory: created on first use (0700), removed after the last user. */
const runDir = { path: undefined as Promise<string> | undefined, users: 0, next: 0 };

async function takeDir(): Promise<Control> {
  runDir.users++;
  runDir.path ??= mkdtemp(join(tmpdir(), 'smbdirect-ssh-')); // mkdtemp makes it 0700
  // short names: a unix socket path has ~107 bytes at most
  return { path: join(await runDir.path, `m${runDir.next++}`), users: false };
}

async function releaseDir(): Promise<void> {
  if (--runDir.users > 0 || !runDir.path) return;
  const p = runDir.path;
  runDir.path = undefined;
  await rm(await p, { recursive: true, force: true });
}

/**
 * OpenSSH reads a login password only from a terminal or an SSH_ASKPASS program: we give it
 * neither. (A become password is for sudo or su on the host: it goes on the session's stdin.)
 */
function refuseSecrets(o: ConnectOptions): void {
  const why = o.client ? ` (${o.client.why})` : '';
  if (o.password) throw new UnreachableError(`${o.host} uses the OpenSSH client${why}, which this tool never gives a login password (${o.password.from}): log in with a key, certificate or Kerberos, or set smbdirect_ssh_client: ssh2`);
}

/** A plain message from a failed login's stderr. */
export function explainOpensshError(stderr: string, o: ConnectOptions, policy: HostKeyPolicy): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^@+$|^[@ ]*WARNING/.test(l));
  const target = `${o.address}:${o.port} (${o.host})`;
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for/i.test(stderr)) {
    const known = o.knownHosts.join(', ') || 'no known_hosts file';
    const fp = stderr.match(/SHA256:[A-Za-z0-9+/=]+/)?.[0];
    const what = /IDENTIFICATION HAS CHANGED|has changed/i.test(stderr)
      ? `it CHANGED (presented ${fp ?? 'another key'}; ${known} records another): someone may be intercepting the connection (or the host was rebuilt); if expected, remove the old entry with ssh-keygen -R`
      : `it is unknown (not in ${known}): verify it and re-run with --accept-new-host-keys to record it`;
    return `OpenSSH refused the host key of ${target} (StrictHostKeyChecking ${strictMode(o, policy)}): ${what}`;
  }
  if (/Permission denied/.test(stderr)) return `authentication refused by ${target} through OpenSSH: ${lines.at(-1)}`;
  return `cannot reach ${target} through OpenSSH: ${lines.slice(-3).join(' ') || 'ssh exited without a message'}`;
}

export class OpensshConnection implements Connection {
  roundTrips = 0;
  private constructor(readonly host: string, private base: string[], private shell: BecomeCommand, private owned: boolean, private inRunDir: boolean) {}

  static async open(o: ConnectOptions, policy: HostKeyPolicy): Promise<OpensshConnection> {
    refuseSecrets(o);
    const shell = becomeCommand(o);
    // a ControlPath the user set is used as it is; a master already there (theirs) is left running
    if (o.ssh?.controlPath) {
      const base = sshArgs(o, policy, { path: o.ssh.controlPath, users: true });
      if ((await ssh(controlArgs(base, 'check'), { timeoutMs: 5000 })).code === 0) return new OpensshConnection(o.host, base, shell, false, false);
      await startMaster(o, policy, base);
      return new OpensshConnection(o.host, base, shell, true, false);
    }
    const control = await takeDir();
    try {
      const base = sshArgs(o, policy, control);
      await startMaster(o, policy, base);
      return new OpensshConnection(o.host, base, shell, true, true);
    } catch (e) {
      await releaseDir();
      throw e;
    }
  }

  async run(script: string, opts: { timeoutMs?: number } = {}): Promise<RunOutput> {
    this.roundTrips++;
    const args = sessionArgs(this.base, this.shell.command);
    const { auth } = this.shell;
    const r = auth ? await sshBecome(args, auth, script, opts.timeoutMs) : await ssh(args, { input: script, timeoutMs: opts.timeoutMs });
    if (r.timedOut) throw new UnreachableError(`no answer from the host within ${Math.round(opts.timeoutMs! / 1000)}s (task timeout)`);
    // 255 is ssh's own failure (the link or the master is gone), as Ansible reads it
    if (r.code === null || r.code === 255) throw new UnreachableError(`connection to the host was lost (OpenSSH: ${r.stderr.toString().trim().split('\n').at(-1) || `exit ${r.code ?? r.signal}`})`);
    return { code: r.code, stdout: r.stdout.toString('utf8'), stdoutBytes: r.stdout, stderr: r.stderr.toString('utf8') };
  }

  /** Stops our master (never the user's), then gives the run's directory back. */
  async close(): Promise<void> {
    if (this.owned) await ssh(controlArgs(this.base, 'exit'), { timeoutMs: 5000 }).catch(() => undefined);
    if (this.inRunDir) await releaseDir();
  }
}

async function startMaster(o: ConnectOptions, policy: HostKeyPolicy, base: string[]): Promise<void> {
  const r = await ssh(masterArgs(base), { timeoutMs: o.timeoutMs + 5000 });
  if (r.timedOut) throw new UnreachableError(`timed out connecting to ${o.address}:${o.port} (${o.host}) through OpenSSH`);
  if (r.code !== 0) throw new UnreachableError(explainOpensshError(r.stderr.toString('utf8'), o, policy));
}
