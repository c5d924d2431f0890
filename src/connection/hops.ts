// Jump host sessions for the whole run, shared: every host behind a bastion goes through one session
// to it (keyed by the bastion's resolved options and the way to it), and the session ends when the
// last connection through it closes; the engine closes every host's connection at the end of the run.
// A session that dies during the run is opened again for the hosts that connect after that.
import type { NodeSSH } from 'node-ssh';
import type { Duplex } from 'node:stream';
import { UnreachableError } from './errors.js';
import type { ConnectOptions } from './options.js';
import { ProxyCommandSocket, settled } from './proxy-command.js';
import { connectClient, endClient, type Carrier, type HostKeyPolicy } from './ssh.js';

interface Hop { key: string; session: Promise<NodeSSH>; users: number }

const open = new Map<string, Hop>();

/** Jump host sessions open now (for tests and -v). */
export function openHops(): number {
  return open.size;
}

/** What makes two jump host sessions the same: everything that decides how it is reached and trusted. */
function hopKey(o: ConnectOptions, upstream: string, policy: HostKeyPolicy): string {
  return JSON.stringify([
    upstream, o.address, o.port, o.user, o.keyFiles, o.defaultKeyFiles, o.identitiesOnly, o.agent ?? null, o.knownHosts,
    o.hostKeyAlias ?? null, o.strictHostKeyChecking?.value ?? null, o.timeoutMs, o.keepaliveIntervalMs, o.keepaliveCountMax, policy.acceptNew,
  ]);
}

/** A session that was up and has closed since (the bastion restarted, the link dropped). */
const closed = (hop: Hop): Promise<boolean> => hop.session.then((s) => !s.isConnected(), () => false);

async function take(key: string, connect: () => Promise<NodeSSH>): Promise<Hop> {
  // Hosts still to connect get a new session; those holding the dead one give it back as usual.
  const seen = open.get(key);
  if (seen && (await closed(seen)) && open.get(key) === seen) open.delete(key);
  let hop = open.get(key);
  if (!hop) {
    hop = { key, session: connect(), users: 0 };
    hop.session.catch(() => undefined); // seen by every user; never an unhandled rejection
    open.set(key, hop);
  }
  hop.users++;
  return hop;
}

async function giveBack(hop: Hop): Promise<void> {
  if (--hop.users > 0) return;
  if (open.get(hop.key) === hop) open.delete(hop.key); // a reopened session may hold the key now
  await hop.session.then((s) => endClient(s, true), () => undefined);
}

/** A channel from the jump host to `to` (what `ssh -W host:port` asks for), within `to`'s connect timeout. */
function forward(from: { ssh: NodeSSH; name: string }, to: ConnectOptions): Promise<Duplex> {
  const target = `${to.address}:${to.port}`;
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new UnreachableError(`${from.name} could not connect to ${target} within ${Math.round(to.timeoutMs / 1000)}s`));
    }, to.timeoutMs);
    from.ssh.connection!.forwardOut('127.0.0.1', 0, to.address, to.port, (err, channel) => {
      clearTimeout(timer);
      if (late) return channel?.close(); // nobody waits for it any more
      if (!err) return resolve(channel);
      reject(new UnreachableError(`${from.name} could not connect to ${target} (${err.message.replace(/^\(SSH\) Channel open failure: /, '')})`));
    });
  });
}

function commandCarrier(command: string): Omit<Carrier, 'release'> {
  const sock = new ProxyCommandSocket(command);
  return { sock, label: `through ProxyCommand ${command}`, explain: async () => (await settled(sock), sock.exited ? sock.describe() : undefined) };
}

const noExplanation = async () => undefined;

/**
 * Opens (or shares) the jump hosts on the way to `o` and returns what carries its own connection;
 * undefined when it is reached directly. A failure names the hop where it happened.
 */
export async function openRoute(o: ConnectOptions, policy: HostKeyPolicy): Promise<Carrier | undefined> {
  const { jumps, proxyCommand } = o.route;
  if (!jumps.length && !proxyCommand) return undefined;
  const held: Hop[] = [];
  const release = async () => {
    for (const hop of held.splice(0).reverse()) await giveBack(hop);
  };
  try {
    let upstream: { ssh: NodeSSH; name: string } | undefined;
    let key = '';
    for (const [i, j] of jumps.entries()) {
      key = hopKey(j, key, policy);
      const from = upstream;
      const hop = await take(key, async () => {
        const via = i === 0 ? (proxyCommand && commandCarrier(proxyCommand.command)) : { sock: await forward(from!, j), label: `through ${from!.name}`, explain: noExplanation };
        return connectClient(j, policy, via || undefined);
      });
      held.push(hop);
      try {
        upstream = { ssh: await hop.session, name: j.host };
      } catch (e) {
        throw new UnreachableError(`cannot reach ${j.host} (jump host for ${o.host}): ${(e as Error).message}`);
      }
    }
    if (!upstream) return { ...commandCarrier(proxyCommand!.command), release };
    const sock = await forward(upstream, o).catch((e: Error) => {
      throw new UnreachableError(`cannot reach ${o.host}: ${e.message}`);
    });
    return { sock, label: `through ${upstream.name}`, explain: noExplanation, release };
  } catch (e) {
    await release();
    throw e;
  }
}
