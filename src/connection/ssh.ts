// One persistent SSH session per host (node-ssh over ssh2). Scripts travel on stdin to `sh -s`,
// so nothing we send (file contents, secrets) ever appears in a remote process's argv.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { NodeSSH } from 'node-ssh';
import type { Connection, RunOutput } from '../types.js';
import { explainConnectError, UnreachableError } from './errors.js';
import { fingerprint, hostToken, readKnownHosts, recordKey, verdict } from './known-hosts.js';
import type { ConnectOptions } from './options.js';
import { cmd } from '../quote.js';

/**
 * Destroys the TCP socket under an ssh2 client. ssh2's own destroy() skips a socket that is no
 * longer writable, which is exactly the state after end() on a dead link (FIN-WAIT-1 with unsent
 * bytes): so the socket is reached directly (ssh2 keeps it in _sock; pinned by the lockfile).
 */
function destroySocket(client: object): void {
  (client as { _sock?: { destroy(): void } })._sock?.destroy();
}

/** How long close() waits for the server's side of a clean goodbye before destroying the socket. */
const CLOSE_GRACE_MS = 2000;

export interface HostKeyPolicy { acceptNew: boolean }

export function remoteShell(o: Pick<ConnectOptions, 'become' | 'becomeUser' | 'user'>): string {
  if (!o.become || o.user === o.becomeUser) return 'sh -s';
  return `${cmd('sudo', '-n', '-H', '-u', o.becomeUser)} sh -s`;
}

export class SshConnection implements Connection {
  roundTrips = 0;
  private constructor(readonly host: string, private ssh: NodeSSH, private shell: string) {}

  static async open(o: ConnectOptions, policy: HostKeyPolicy): Promise<SshConnection> {
    const target = `${o.address}:${o.port}`;
    const known = await readKnownHosts(o.knownHosts);
    const tokens = [hostToken(o.address, o.port), ...(o.address !== o.host ? [hostToken(o.host, o.port)] : [])];
    let refusal: string | undefined;
    let accepted: Buffer | undefined;
    const hostVerifier = (key: Buffer): boolean => {
      const v = verdict(known, tokens, key);
      if (v.status === 'match') return true;
      if (v.status === 'changed') {
        refusal =
          `REMOTE HOST IDENTIFICATION HAS CHANGED for ${tokens[0]}: presented ${fingerprint(key)}, ` +
          `${o.knownHosts} records another key. Someone may be intercepting the connection (or the host was rebuilt). ` +
          `Refused; if the change is expected, remove the old entry with: ssh-keygen -R ${tokens[0]} -f ${o.knownHosts}`;
        return false;
      }
      if (policy.acceptNew) return (accepted = key), true;
      refusal =
        `host key for ${tokens[0]} is unknown (${fingerprint(key)}, not in ${o.knownHosts}); ` +
        `verify it and re-run with --accept-new-host-keys to record it`;
      return false;
    };
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: o.address,
        port: o.port,
        username: o.user,
        privateKey: o.keyFile ? await readFile(o.keyFile, 'utf8') : undefined,
        agent: o.keyFile ? undefined : process.env.SSH_AUTH_SOCK,
        readyTimeout: o.timeoutMs,
        hostVerifier,
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
      });
    } catch (e) {
      ssh.dispose();
      throw new UnreachableError(refusal ?? explainConnectError(e, target));
    }
    if (accepted) await recordKey(o.knownHosts, tokens[0]!, accepted);
    // A dropped session surfaces as a failed run(), not a crash. When keepalives go unanswered
    // (the link is cut), ssh2 only half-closes a socket whose FIN can never arrive: destroy it, so
    // the open channel ends now (host unreachable) instead of after minutes of TCP retransmits.
    const client = ssh.connection;
    client?.on('error', (e: Error & { level?: string }) => { if (e.level === 'client-timeout') destroySocket(client); });
    return new SshConnection(o.host, ssh, remoteShell(o));
  }

  async run(script: string, opts: { timeoutMs?: number } = {}): Promise<RunOutput> {
    this.roundTrips++;
    if (!this.ssh.isConnected()) throw new UnreachableError('connection to the host was lost');
    let channel: { close(): void } | undefined;
    // node-ssh decodes each chunk on its own, which breaks a character split between two chunks:
    // keep the bytes and decode once.
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const exec = this.ssh.execCommand(this.shell, {
      stdin: script, noTrim: true, onChannel: (c) => (channel = c), onStdout: (b) => out.push(b), onStderr: (b) => err.push(b),
    });
    const res = await withTimeout(exec, opts.timeoutMs, () => { this.timedOut = true; channel?.close(); });
    if (res.code === null) {
      throw new UnreachableError(res.signal ? `remote shell killed by ${res.signal}` : 'connection to the host was lost');
    }
    const stdoutBytes = Buffer.concat(out);
    return { code: res.code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') };
  }

  /** Set when a run() timed out: the link may be dead, so close() does not wait for a goodbye. */
  private timedOut = false;

  /**
   * Ends the session politely, then destroys the socket: after a network cut the TCP close would
   * otherwise keep the process alive for minutes of retransmits after the recap was printed.
   */
  async close(): Promise<void> {
    const client = this.ssh.connection;
    this.ssh.dispose();
    if (!client) return;
    if (!this.timedOut) {
      await Promise.race([once(client, 'close'), new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())]);
    }
    destroySocket(client);
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
