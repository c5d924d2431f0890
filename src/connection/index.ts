import type { Connection, HostSpec } from '../types.js';
import { openLocal } from './local.js';
import { connectOptions, describeSource } from './options.js';
import { SshConnection, type HostKeyPolicy } from './ssh.js';

export { UnreachableError } from './errors.js';

export async function openConnection(
  host: HostSpec,
  opts: HostKeyPolicy & { timeoutMs: number },
): Promise<Connection> {
  const o = connectOptions(host, opts);
  if (o.local) return openLocal(o);
  // Item 2 of #13: until jump hosts are supported, never connect directly instead.
  if (o.proxy) {
    throw new Error(
      `${o.host}: jump hosts are not supported yet: ${o.proxy.keyword} ${o.proxy.value} (${describeSource(o.proxy.where)}); ` +
        `not connecting directly to ${o.address} instead. Reach the host without a jump host, or set ${o.proxy.keyword} none for it`,
    );
  }
  return SshConnection.open(o, opts);
}
