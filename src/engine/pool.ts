// The run's SSH connections, apart from the engine so that a command can start opening them
// before the engine and the playbook's tasks are loaded (#14).
import { openConnection } from '../connection/index.js';
import type { Connection, HostSpec } from '../types.js';
import type { CliPasswords } from '../connection/passwords.js';

/** Connections live for the whole run: one per host, opened on first use. */
export class ConnectionPool {
  private conns = new Map<string, Promise<Connection>>();
  constructor(private opts: { connectTimeoutMs: number; acceptNewHostKeys: boolean; passwords?: CliPasswords }) {}
  get(host: HostSpec): Promise<Connection> {
    let c = this.conns.get(host.name);
    if (!c) {
      c = openConnection(host, { timeoutMs: this.opts.connectTimeoutMs, acceptNew: this.opts.acceptNewHostKeys, passwords: this.opts.passwords });
      this.conns.set(host.name, c);
    }
    return c;
  }
  async roundTrips(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [h, c] of this.conns) out.set(h, await c.then((x) => x.roundTrips, () => 0));
    return out;
  }
  async closeAll(): Promise<void> {
    await Promise.all([...this.conns.values()].map((c) => c.then((x) => x.close(), () => undefined)));
  }
}
