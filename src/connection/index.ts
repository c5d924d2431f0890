import type { Connection, HostSpec } from '../types.js';
import { openRoute } from './hops.js';
import { openLocal } from './local.js';
import { OpensshConnection } from './openssh.js';
import { connectOptions } from './options.js';
import type { CliPasswords } from './passwords.js';
import { SshConnection, type HostKeyPolicy } from './ssh.js';

export { UnreachableError } from './errors.js';

export async function openConnection(
  host: HostSpec,
  opts: HostKeyPolicy & { timeoutMs: number; passwords?: CliPasswords },
): Promise<Connection> {
  const o = connectOptions(host, opts);
  if (o.local) return openLocal(o);
  // ssh carries its own jump hosts and ProxyCommand (-o ProxyJump / ProxyCommand)
  if (o.client?.client === 'openssh') return OpensshConnection.open(o, opts);
  // through its jump hosts or ProxyCommand when it has them, never directly instead
  return SshConnection.open(o, opts, await openRoute(o, opts));
}
