// A run's forks may be hundreds, but the SSH handshakes in flight are capped (MAX_HANDSHAKES): with
// 500 at once on a 2-core controller every handshake crossed its timeout together (the 500-host
// bench reached no host). Here a real TCP listener on loopback accepts and never speaks, so each
// handshake waits for its banner until its own timeout: the listener counts how many are open at once.
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { connectClient, MAX_HANDSHAKES } from '../src/connection/ssh.js';
import { hostname } from 'node:os';
import { connectOptions } from '../src/connection/options.js';

t.test('at most MAX_HANDSHAKES handshakes at once; each host\'s timeout counts from its own handshake', async (t) => {
  const accepted: number[] = [];
  const server = createServer((s: Socket) => {
    accepted.push(Date.now());
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const hosts = MAX_HANDSHAKES + 16;
  const timeoutMs = 1500;
  // Options as an inventory gives them; an empty home, so no ~/.ssh of this machine counts.
  const ctx = { home: t.testdir({}), localUser: 'root', uid: 0, localHostname: hostname(), env: {} };
  const options = (i: number) =>
    connectOptions({ name: `h${i}`, groups: [], vars: { ansible_host: '127.0.0.1', ansible_port: port, ansible_password: 'not-used' } }, { timeoutMs }, ctx);
  const t0 = Date.now();
  const outcomes = await Promise.all(Array.from({ length: hosts }, (_, i) =>
    connectClient(options(i), { acceptNew: false }).then(() => 'connected', (e: Error) => ({ message: e.message, at: Date.now() - t0 }))));
  // Until the first timeout frees a slot, exactly the cap is open (the listener's accept times).
  const first = accepted.filter((at) => at - t0 < timeoutMs - 200).length;
  t.equal(first, MAX_HANDSHAKES, `${first} handshakes open before the first timeout, for ${hosts} hosts`);
  t.equal(accepted.length, hosts, 'then the others, as slots came free');
  const failed = outcomes.filter((o): o is { message: string; at: number } => typeof o === 'object');
  t.equal(failed.length, hosts, 'no host connects to a listener that never speaks');
  t.ok(failed.every((f) => /timed out/.test(f.message)), `each says it timed out (${failed[0]?.message})`);
  // The hosts past the cap waited for a slot, then got their whole timeout: they end a timeout later.
  const late = failed.filter((f) => f.at >= 2 * timeoutMs - 200).length;
  t.equal(late, hosts - MAX_HANDSHAKES, `${late} hosts ended about two timeouts in, after waiting for a slot`);
});
