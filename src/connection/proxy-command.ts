// ProxyCommand: the command's stdin and stdout are the connection, as in OpenSSH (which runs
// `exec COMMAND` with the user's shell; we use /bin/sh so the result does not depend on $SHELL).
// The command is the user's own text, run on the controller; the values put into it (%h %p %r %n)
// are already quoted as single shell words (jump.ts).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';

/** How much of the command's stderr is kept for an error message (its last bytes matter most). */
const STDERR_KEEP = 2000;

/** A Duplex over a child's stdout (read) and stdin (write); destroying it ends the child. */
export class ProxyCommandSocket extends Duplex {
  private stderr = '';
  private exit?: string;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;

  constructor(readonly command: string) {
    super();
    this.child = spawn('/bin/sh', ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    const { stdout, stdin, stderr } = this.child;
    stdout.on('data', (b: Buffer) => { if (!this.push(b)) stdout.pause(); });
    stdout.on('end', () => this.push(null));
    stderr.on('data', (b: Buffer) => { this.stderr = (this.stderr + b.toString('utf8')).slice(-STDERR_KEEP); });
    // a write after the command exited fails with EPIPE: that is the connection ending
    stdin.on('error', () => undefined);
    this.child.on('error', (e) => this.destroy(e));
    this.child.on('exit', (code, signal) => { this.exit = signal ? `killed by ${signal}` : `exited with code ${code}`; });
  }

  /** Why the command is gone, for an error message: its exit and the end of its stderr. */
  describe(): string {
    const err = this.stderr.trim().split('\n').filter(Boolean).slice(-3).join('; ');
    return `ProxyCommand ${this.exit ?? 'still running'}${err ? `: ${err}` : ''}`;
  }

  get exited(): boolean { return this.exit !== undefined; }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.child.stdin.destroyed) return done();
    this.child.stdin.write(chunk, () => done());
  }

  override _final(done: (e?: Error | null) => void): void {
    this.child.stdin.end(() => done());
  }

  override _destroy(err: Error | null, done: (e?: Error | null) => void): void {
    // our own child, by its handle; `exec` made it the command itself, not a shell around it
    if (this.exit === undefined) this.child.kill('SIGTERM');
    done(err);
  }
}

/** Waits a moment for the child's exit to be seen, so an error can say how it ended. */
export async function settled(sock: ProxyCommandSocket, ms = 500): Promise<void> {
  for (let waited = 0; !sock.exited && waited < ms; waited += 50) await new Promise((r) => setTimeout(r, 50));
}
