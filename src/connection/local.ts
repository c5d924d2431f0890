// ansible_connection=local: the same `sh -s` contract, run on the controller through zx (imported
// on first use: an inventory of SSH hosts never loads it, #14).
import type { Connection, RunOutput } from '../types.js';
import type { ConnectOptions } from './options.js';

export class LocalConnection implements Connection {
  roundTrips = 0;
  constructor(readonly host: string, private become: boolean) {}

  async run(script: string, opts: { timeoutMs?: number } = {}): Promise<RunOutput> {
    this.roundTrips++;
    const { $ } = await import('zx');
    const sudo = this.become && process.getuid?.() !== 0;
    const p = $({ input: script, nothrow: true, quiet: true, timeout: opts.timeoutMs });
    const out = sudo ? await p`sudo -n sh -s` : await p`sh -s`;
    return { code: out.exitCode ?? 1, stdout: out.stdout, stdoutBytes: out.buffer(), stderr: out.stderr };
  }

  async close(): Promise<void> {}
}

export function openLocal(o: ConnectOptions): LocalConnection {
  return new LocalConnection(o.host, o.become);
}
