import type { Connection, HostSpec } from '../types.js';
import { openLocal } from './local.js';
import { connectOptions } from './options.js';
import { SshConnection, type HostKeyPolicy } from './ssh.js';

export { UnreachableError } from './errors.js';

export async function openConnection(
  host: HostSpec,
  opts: HostKeyPolicy & { timeoutMs: number },
): Promise<Connection> {
  const o = connectOptions(host, opts);
  return o.local ? openLocal(o) : SshConnection.open(o, opts);
}
