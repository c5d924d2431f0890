// An ssh2 client session as node-ssh 13 wrapped it, reduced to what ssh.ts and hops.ts use (#14):
// node-ssh and what it loads (make-dir with semver, sb-scandir, sb-promise-queue, is-stream,
// shell-escape) cost every run ~0.01 s of CPU, and it decoded every chunk of a command's output to
// text and joined them, which run() never used. The same events, in the same order, as node-ssh.
import ssh2 from 'ssh2';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';

export class SshSession {
  /** The ssh2 client while the session is up (null once it ended or was disposed). */
  connection: Client | null = null;

  isConnected(): boolean {
    return this.connection != null;
  }

  dispose(): void {
    if (this.connection) {
      this.connection.end();
      this.connection = null;
    }
  }

  /** Resolves when the session is ready; rejects on the client's first error, or when it closes before. */
  async connect(config: ConnectConfig & { username: string }): Promise<this> {
    const connection = new ssh2.Client();
    this.connection = connection;
    await new Promise<void>((resolve, reject) => {
      connection.on('error', reject);
      connection.on('ready', () => {
        connection.removeListener('error', reject);
        resolve();
      });
      connection.on('end', () => {
        if (this.connection === connection) this.connection = null;
      });
      connection.on('close', () => {
        if (this.connection === connection) this.connection = null;
        reject(Object.assign(new Error('No response from server'), { code: 'ETIMEDOUT' }));
      });
      connection.connect(config);
    });
    return this;
  }

  /** Runs `command` with `stdin` written to it and ended; settles when its channel closes. */
  exec(command: string, o: { stdin: string; onChannel(c: ClientChannel): void; onStdout(b: Buffer): void; onStderr(b: Buffer): void }): Promise<{ code: number | null; signal: string | null }> {
    const connection = this.connection;
    if (!connection) return Promise.reject(new Error('Not connected to server'));
    return new Promise((resolve, reject) => {
      connection.on('error', reject);
      connection.exec(command, {}, (err, channel) => {
        connection.removeListener('error', reject);
        if (err) return reject(err);
        o.onChannel(channel);
        channel.on('data', o.onStdout);
        channel.stderr.on('data', o.onStderr);
        channel.write(o.stdin);
        channel.end();
        let code: number | null = null;
        let signal: string | null = null;
        channel.on('exit', (code_: number | null | undefined, signal_: string | null | undefined) => {
          code = code_ ?? null;
          signal = signal_ ?? null;
        });
        channel.on('close', () => resolve({ code, signal }));
      });
    });
  }
}
