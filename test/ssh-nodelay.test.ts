// Every SSH session's TCP socket has Nagle's algorithm off, as OpenSSH's has (#14): ssh2 leaves it
// on, and each small authentication message then waited for the server's delayed ACK (~40 ms each,
// a handshake of 0.22 s instead of 0.05 s on an idle lab host). Node does not say whether a
// socket has TCP_NODELAY, so the test watches the call: a listener on loopback accepts and never
// speaks, and the sockets connecting to it are seen being told.
import t from 'tap';
import { createServer, Socket } from 'node:net';
import { hostname } from 'node:os';
import { connectClient } from '../src/connection/ssh.js';
import { connectOptions } from '../src/connection/options.js';

t.test('the session socket gets setNoDelay(true) before its handshake', async (t) => {
  const server = createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;

  const told: Array<{ enable: unknown; connecting: boolean }> = [];
  const original = Socket.prototype.setNoDelay;
  Socket.prototype.setNoDelay = function setNoDelay(this: Socket, enable?: boolean) {
    told.push({ enable, connecting: this.connecting });
    return original.call(this, enable);
  };
  t.teardown(() => { Socket.prototype.setNoDelay = original; });

  const ctx = { home: t.testdir({}), localUser: 'root', uid: 0, localHostname: hostname(), env: {} };
  const options = connectOptions({ name: 'h', groups: [], vars: { ansible_host: '127.0.0.1', ansible_port: port, ansible_password: 'not-used' } }, { timeoutMs: 500 }, ctx);
  await t.rejects(connectClient(options, { acceptNew: false }), /timed out/, 'the listener never speaks');
  t.same(told, [{ enable: true, connecting: true }], 'told once, while connecting (before any SSH message)');
});
