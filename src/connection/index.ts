import type { Connection, HostSpec } from '../types.js';
import { openRoute } from './hops.js';
import { connectOptions } from './options.js';
import type { CliPasswords } from './passwords.js';
import { SshConnection, type HostKeyPolicy } from './ssh.js';

export { UnreachableError } from './errors.js';

export async function openConnection(
  host: HostSpec,
  opts: HostKeyPolicy & { timeoutMs: number; passwords?: CliPasswords },
): Promise<Connection> {
  const o = connectOptions(host, opts);
  // The local and OpenSSH transports are loaded by the runs that use them (#14).
  if (o.local) return (await import('./local.js')).openLocal(o);
  // ssh carries its own jump hosts and ProxyCommand (-o ProxyJump / ProxyCommand)
  if (o.client?.client === 'openssh') return (await import('./openssh.js')).OpensshConnection.open(o, opts);
  // through its jump hosts or ProxyCommand when it has them, never directly instead
  return SshConnection.open(o, opts, await openRoute(o, opts));
}
