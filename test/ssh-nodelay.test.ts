// Every SSH session's TCP socket as OpenSSH uses its own (#14): Nagle's algorithm off (ssh2 leaves
// it on, and each small authentication message then waited for the server's delayed ACK, ~40 ms
// each), and what ssh2 writes in one tick leaving in one writev (it writes each encrypted packet in
// three pieces, length, ciphertext and tag: without Nagle, three syscalls and three segments).
// Node does not say whether a socket has TCP_NODELAY, so the test watches the calls on the socket
// of a real session with an SSH server on loopback (ssh2's, in this process).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Socket, type AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { SshConnection } from '../src/connection/ssh.js';
import { connectOptions } from '../src/connection/options.js';

t.test('the session socket: setNoDelay(true) while connecting, and no packet split over writes', async (t) => {
  const d = t.testdir({});
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${d}/host`]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${d}/client`]);
  writeFileSync(`${d}/known_hosts`, '');
  const srv = new ssh2.Server({ hostKeys: [readFileSync(`${d}/host`)] }, (client) => {
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('ready', () => client.on('session', (accept) => accept().on('exec', (acc) => {
      const ch = acc();
      ch.on('data', () => undefined).on('end', () => { ch.write('done\n'); ch.exit(0); ch.close(); });
    })));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const port = (srv.address() as AddressInfo).port;

  const told: Array<{ enable: unknown; connecting: boolean }> = [];
  const writes: Array<{ how: 'write' | 'writev'; bytes: number[] }> = [];
  const ours = (s: Socket): boolean => s.remotePort === port && s.localPort !== port;
  const proto = Socket.prototype as unknown as Record<'setNoDelay' | '_write' | '_writev', (...a: unknown[]) => unknown>;
  const saved = { setNoDelay: proto.setNoDelay, _write: proto._write, _writev: proto._writev };
  proto.setNoDelay = function (this: Socket, enable: unknown) {
    told.push({ enable, connecting: this.connecting });
    return saved.setNoDelay.call(this, enable);
  };
  proto._write = function (this: Socket, ...a: unknown[]) {
    if (ours(this)) writes.push({ how: 'write', bytes: [(a[0] as Buffer).length] });
    return saved._write.apply(this, a);
  };
  proto._writev = function (this: Socket, ...a: unknown[]) {
    if (ours(this)) writes.push({ how: 'writev', bytes: (a[0] as Array<{ chunk: Buffer }>).map((c) => c.chunk.length) });
    return saved._writev.apply(this, a);
  };
  t.teardown(() => Object.assign(proto, saved));

  const options = connectOptions({
    name: 'h', groups: ['all'],
    vars: { ansible_host: '127.0.0.1', ansible_port: port, ansible_user: 'ops', ansible_ssh_private_key_file: `${d}/client`, ansible_ssh_common_args: '-F none -o IdentityAgent=none', smbdirect_known_hosts: `${d}/known_hosts` },
  }, { timeoutMs: 5000 }, { home: d, localUser: 'me', uid: 0, localHostname: 'ctl', env: {} });
  const conn = await SshConnection.open(options, { acceptNew: true });
  const out = await conn.run('echo hi\n');
  await conn.close();
  t.match(out.stdout.toString(), /done/, 'a real session: handshake, login, a command');
  t.same(told.filter((x) => x.enable === true && x.connecting), [{ enable: true, connecting: true }], 'told once, while connecting (before any SSH message)');
  // After the key exchange each packet is length (4 bytes) + ciphertext + tag (16); no SSH packet
  // is 4 bytes long, so a write of 4 is a length leaving without its packet.
  const alone = writes.filter((w) => w.how === 'write' && w.bytes[0] === 4);
  t.same(alone, [], 'no packet length written on its own');
  t.ok(writes.some((w) => w.how === 'writev' && w.bytes.length >= 3), `packets leave whole, in one writev (${writes.map((w) => `${w.how} ${w.bytes.join('+')}`).join(', ')})`);
});
