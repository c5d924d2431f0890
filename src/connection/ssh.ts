// One persistent SSH session per host (node-ssh over ssh2). Scripts travel on stdin to `sh -s`,
// so nothing we send (file contents, secrets) ever appears in a remote process's argv.
import { once } from 'node:events';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import pLimit from 'p-limit';
import type { Connection, RunOutput } from '../types.js';
import { explainConnectError, UnreachableError } from './errors.js';
import { fingerprint, hostToken, readKnownHosts, recordKey, verdict } from './known-hosts.js';
import { describeSource, type ConnectOptions } from './options.js';
import { authHandler, authMethods } from './auth.js';
import { becomeCommand, execWithBecome, type BecomeCommand } from './become.js';

/**
 * Destroys the TCP socket under an ssh2 client. ssh2's own destroy() skips a socket that is no
 * longer writable, which is exactly the state after end() on a dead link (FIN-WAIT-1 with unsent
 * bytes): so the socket is reached directly (ssh2 keeps it in _sock; pinned by the lockfile).
 */
function destroySocket(client: object): void {
  (client as { _sock?: { destroy(): void } })._sock?.destroy();
}

/**
 * SSH handshakes in flight at once, across all hosts (a run's forks may be hundreds). Each costs
 * key exchange and sshd's login work; with 500 at once on a 2-core controller every one of them
 * crossed its 10 s timeout together and the run reached no host, where 64 at a time reach all.
 * A host's timeout counts from its own handshake's start, not from its wait for a slot. Jump hosts'
 * handshakes count too; the OpenSSH fallback's masters (openssh.ts) do not.
 */
export const MAX_HANDSHAKES = 64;
const handshakes = pLimit(MAX_HANDSHAKES);

/** How long close() waits for the server's side of a clean goodbye before destroying the socket. */
const CLOSE_GRACE_MS = 2000;

export interface HostKeyPolicy { acceptNew: boolean }

/** A connection carried by something other than TCP (a jump host's channel, a ProxyCommand). */
export interface Carrier {
  sock: Duplex;
  /** "through bastion1" or "through ProxyCommand ...", for messages. */
  label: string;
  /** Why the carrier failed, when it did (a ProxyCommand that exited says how). */
  explain(): Promise<string | undefined>;
  /** Gives the jump hosts back (the last user closes them). */
  release(): Promise<void>;
}

/**
 * Whether an unknown host key is accepted. --accept-new-host-keys acts as `-o
 * StrictHostKeyChecking=accept-new` on the command line; otherwise the config's value counts, and
 * without one the default is strict (yes). `no` accepts (and records) unknown keys only: a changed
 * key is refused whatever the setting, stricter than OpenSSH where that is safer. `ask` cannot ask
 * here, so it refuses as `yes` does.
 */
export function hostKeyMode(o: Pick<ConnectOptions, 'strictHostKeyChecking'>, policy: HostKeyPolicy): { accept: boolean; why: string } {
  if (policy.acceptNew) return { accept: true, why: '' };
  const s = o.strictHostKeyChecking;
  if (!s) return { accept: false, why: '' };
  const at = `StrictHostKeyChecking ${s.value} (${describeSource(s.where)})`;
  if (s.value === 'no' || s.value === 'accept-new') return { accept: true, why: '' };
  return { accept: false, why: `${at} ${s.value === 'ask' ? 'cannot ask here, so it ' : ''}refuses it; ` };
}

/**
 * The session's TCP socket as OpenSSH uses its own (#14): Nagle's algorithm off, and each SSH
 * packet in one write.
 * - ssh2 leaves Nagle on, and its small authentication messages then wait for the server's
 *   delayed ACK: ~40 ms per message, a handshake of 0.22 s instead of 0.05 s on an idle lab host.
 * - ssh2 writes an AES-GCM or ChaCha20 packet in three pieces (length, ciphertext, tag): without
 *   Nagle, three syscalls and three TCP segments each. The writes of one tick are corked and leave
 *   together (one writev).
 * node-ssh creates its ssh2 client synchronously in connect() (the key is given as data, never as
 * a path to read first), and ssh2 its socket (kept in _sock, pinned by the lockfile); a socket
 * told before it has connected applies it on connecting. Over a jump host's channel or a
 * ProxyCommand there is no TCP socket of ours, and nothing is done.
 */
function tuneSocket<T>(ssh: NodeSSH, connecting: Promise<T>): Promise<T> {
  const sock = (ssh.connection as { _sock?: unknown } | null)?._sock;
  if (sock instanceof Socket) {
    sock.setNoDelay(true);
    onePacketPerWrite(sock);
  }
  return connecting;
}

/** Corks SOCK at its first write of a tick and uncorks it on the next: the tick's writes leave in one writev. */
function onePacketPerWrite(sock: Socket): void {
  const write = sock.write;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    sock.uncork();
  };
  sock.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket['write'];
}

/**
 * Opens an SSH session, checking the host key against known_hosts (on every hop alike): over TCP,
 * or over `via.sock`. Failures are UnreachableErrors with a plain message.
 */
export async function connectClient(o: ConnectOptions, policy: HostKeyPolicy, via?: Omit<Carrier, 'release'>): Promise<NodeSSH> {
  const target = `${o.address}:${o.port}${via ? ` ${via.label}` : ''}`;
  const known = await Promise.all(o.knownHosts.map(readKnownHosts));
  const knownNames = o.knownHosts.join(', ') || 'no known_hosts file (UserKnownHostsFile none)';
  // HostKeyAlias replaces the names the key is looked up and recorded under, as in OpenSSH.
  const tokens = o.hostKeyAlias
    ? [hostToken(o.hostKeyAlias, o.port)]
    : [hostToken(o.address, o.port), ...(o.address !== o.host ? [hostToken(o.host, o.port)] : [])];
  const mode = hostKeyMode(o, policy);
  let refusal: string | undefined;
  let accepted: Buffer | undefined;
  const hostVerifier = (key: Buffer): boolean => {
    const v = verdict(known, tokens, key);
    if (v.status === 'match') return true;
    if (v.status === 'changed') {
      refusal =
        `REMOTE HOST IDENTIFICATION HAS CHANGED for ${tokens[0]}: presented ${fingerprint(key)}, ` +
        `${knownNames} records another key. Someone may be intercepting the connection (or the host was rebuilt). ` +
        `Refused${o.strictHostKeyChecking?.value === 'no' ? ' (StrictHostKeyChecking no accepts unknown keys only, never changed ones)' : ''}; ` +
        `if the change is expected, remove the old entry with: ssh-keygen -R ${tokens[0]} -f ${o.knownHosts[0] ?? '~/.ssh/known_hosts'}`;
      return false;
    }
    if (mode.accept) return (accepted = key), true;
    refusal =
      `host key for ${tokens[0]} is unknown (${fingerprint(key)}, not in ${knownNames}); ` +
      `${mode.why}verify it and re-run with --accept-new-host-keys to record it`;
    return false;
  };
  const ssh = new NodeSSH();
  try {
    const methods = authHandler(await authMethods(o));
    await handshakes(() => tuneSocket(ssh, ssh.connect({
      host: o.address,
      port: o.port,
      ...(via && { sock: via.sock }),
      username: o.user,
      authHandler: methods,
      readyTimeout: o.timeoutMs,
      hostVerifier,
      keepaliveInterval: o.keepaliveIntervalMs,
      keepaliveCountMax: o.keepaliveCountMax,
    })));
  } catch (e) {
    ssh.dispose();
    // a carrier that died first (a ProxyCommand that exited) is the reason; asked before it is destroyed
    const auth = (e as { level?: string }).level === 'client-authentication';
    const why = refusal ?? (auth ? passwordRefused(o, target) : await via?.explain()) ?? explainConnectError(e, target);
    via?.sock.destroy();
    throw new UnreachableError(why);
  }
  if (accepted && o.knownHosts[0]) await recordKey(o.knownHosts[0], tokens[0]!, accepted);
  // A dropped session surfaces as a failed run(), not a crash. When keepalives go unanswered
  // (the link is cut), ssh2 only half-closes a socket whose FIN can never arrive: destroy it, so
  // the open channel ends now (host unreachable) instead of after minutes of TCP retransmits.
  const client = ssh.connection;
  client?.on('error', (e: Error & { level?: string }) => { if (e.level === 'client-timeout') destroySocket(client); });
  return ssh;
}

/** With a password, an authentication failure says so (which variable or option it came from, never the value). */
function passwordRefused(o: ConnectOptions, target: string): string | undefined {
  if (!o.password) return undefined;
  return `authentication refused by ${target}: the password for ${o.user} and any keys were refused; check ${o.password.from} and ansible_user`;
}

/**
 * Ends a session politely, then destroys its socket: after a network cut the TCP close would
 * otherwise keep the process alive for minutes of retransmits after the recap was printed.
 */
export async function endClient(ssh: NodeSSH, waitForGoodbye: boolean): Promise<void> {
  const client = ssh.connection;
  ssh.dispose();
  if (!client) return;
  if (waitForGoodbye) await Promise.race([once(client, 'close'), new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())]);
  destroySocket(client);
}

export class SshConnection implements Connection {
  roundTrips = 0;
  private constructor(readonly host: string, private ssh: NodeSSH, private shell: BecomeCommand, private release: () => Promise<void>) {}

  /** `via`: the carrier through jump hosts or a ProxyCommand (openRoute), else a direct TCP connection. */
  static async open(o: ConnectOptions, policy: HostKeyPolicy, via?: Carrier): Promise<SshConnection> {
    try {
      const shell = becomeCommand(o); // an impossible become (su without a password) fails before connecting
      return new SshConnection(o.host, await connectClient(o, policy, via), shell, via?.release ?? (async () => undefined));
    } catch (e) {
      await via?.release();
      throw e;
    }
  }

  async run(script: string, opts: { timeoutMs?: number } = {}): Promise<RunOutput> {
    this.roundTrips++;
    if (!this.ssh.isConnected()) throw new UnreachableError('connection to the host was lost');
    let channel: { close(): void } | undefined;
    // node-ssh decodes each chunk on its own, which breaks a character split between two chunks:
    // keep the bytes and decode once.
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const { auth } = this.shell;
    const exec = auth
      ? execWithBecome(this.ssh.connection!, { command: this.shell.command, auth }, script, (c) => (channel = c))
      : this.ssh.execCommand(this.shell.command, {
        stdin: script, noTrim: true, onChannel: (c) => (channel = c), onStdout: (b) => out.push(b), onStderr: (b) => err.push(b),
      }).then((r) => ({ code: r.code, signal: r.signal ?? undefined, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    const res = await withTimeout(exec, opts.timeoutMs, () => { this.timedOut = true; channel?.close(); });
    if (res.code === null) {
      throw new UnreachableError(res.signal ? `remote shell killed by ${res.signal}` : 'connection to the host was lost');
    }
    return { code: res.code, stdout: res.stdout.toString('utf8'), stdoutBytes: res.stdout, stderr: res.stderr.toString('utf8') };
  }

  /** Set when a run() timed out: the link may be dead, so close() does not wait for a goodbye. */
  private timedOut = false;

  /** Ends the session, then gives its jump hosts back (a jump host outlives every session through it). */
  async close(): Promise<void> {
    await endClient(this.ssh, !this.timedOut);
    await this.release();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number | undefined, onTimeout: () => void): Promise<T> {
  if (!ms) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new UnreachableError(`no answer from the host within ${Math.round(ms / 1000)}s (task timeout)`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
