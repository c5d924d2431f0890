// /proc/fs/cifs/DebugData in both SMB Direct forms (src/smb/debugdata.ts), on the captured lines in
// test/fixtures/debugdata (README.md there), and the facts' evidence lines feeding it.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { Sections } from '../src/facts/fact.js';
import { evidence } from '../src/facts/evidence.js';
import { parseDebugData } from '../src/smb/debugdata.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/debugdata/${name}.txt`, import.meta.url), 'utf8');

t.test('before 6.18: the hex form, status 2 is connected', async (t) => {
  const d = parseDebugData(fixture('6.1-siw'));
  t.equal(d.connections.length, 1);
  t.match(d.connections[0], { form: 'hex', protocolVersion: 0x100, status: 2, statusName: 'CONNECTED', connected: true });
  t.match(d.servers[0]!.interfaces, [{ rdma: true }]);
  const counted = parseDebugData('SMBDirect (in hex) protocol version: 100 transport status: 3\nConn receive_credit_max: ff send_credit_target: ff max_send_size: 554\nConn max_fragmented_recv_size: 100000 max_fragmented_send_size: 0 max_receive_size:554\n');
  t.match(counted.connections[0], { statusName: 'NEGOTIATE_FAILED', connected: false });
  t.same(counted.connections[0]!.counters, { receive_credit_max: 255, send_credit_target: 255, max_send_size: 1364, max_fragmented_recv_size: 0x100000, max_fragmented_send_size: 0, max_receive_size: 1364 }, 'hex counters, "size:%x" without a space too');
});

t.test('6.18 on: the named form with decimal counters (7.3.4 capture)', async (t) => {
  const [c] = parseDebugData(fixture('7.3-siw')).connections;
  t.match(c, { form: 'named', protocolVersion: 0x100, status: 14, statusName: 'CONNECTED', connected: true });
  t.same(c!.counters, {
    receive_credit_max: 255, send_credit_target: 255, max_send_size: 1364,
    keep_alive_interval: 120, max_readwrite_size: 1048576, rdma_readwrite_threshold: 4096,
    responder_resources: 8, max_frmr_depth: 256, mr_type: 0,
  });
  t.match(parseDebugData('SMBDirect protocol version: 0x100 transport status: NEGOTIATE_FAILED (9)').connections[0], { statusName: 'NEGOTIATE_FAILED', status: 9, connected: false });
  t.match(parseDebugData('SMBDirect protocol version: 0x100 transport status: SMBDIRECT_SOCKET_CONNECTED (14)').connections[0], { statusName: 'CONNECTED', connected: true });
});

t.test('no transport', async (t) => {
  t.match(parseDebugData(fixture('not-available')).connections, [{ form: 'not available', connected: false, protocolVersion: null, status: null }]);
  t.same(parseDebugData('').connections, []);
  t.same(parseDebugData('SMBDirect something new: 7').connections, [], 'an unknown form is no connection');
});

t.test('multichannel: extra channels and RDMA server interfaces', async (t) => {
  const [s] = parseDebugData(fixture('7.3-multichannel')).servers;
  t.equal(s!.extraChannels, 1);
  t.same(s!.interfaces.map((i) => [i.rdma, i.channels, i.connected]), [[true, 1, true], [true, 1, true]]);
});

t.test('a whole DebugData: servers by ConnectionId, interfaces by Speed (format of fs/smb/client/cifs_debug.c, not a capture)', async (t) => {
  const text = [
    'CIFS Version 2.55', 'Features: DFS,FSCACHE,SMB_DIRECT,STATS', 'Servers:',
    '1) ConnectionId: 0x1 Hostname: 10.0.2.15', 'ClientGUID: 0',
    'SMBDirect protocol version: 0x100 transport status: CONNECTED (14)',
    'Conn receive_credit_max: 255 send_credit_target: 255 max_send_size: 1364',
    'Number of credits: 255,1,1 Dialect 0x311',
    '\tExtra Channels: 1 ', '\tServer interfaces: 2\tLast updated: 1 seconds ago',
    '\t1)\tSpeed: 10000000000 bps', '\t\tCapabilities: rdma ', '\t\tIPv4: 10.0.2.15', '\t\tWeight (cur,total): (1,1)', '\t\tAllocated channels: 1', '\t\t[CONNECTED]',
    '\t2)\tSpeed: 10000000000 bps', '\t\tCapabilities: rss ', '\t\tIPv4: 10.0.3.15', '\t\tAllocated channels: 0',
    '2) ConnectionId: 0x2 Hostname: 10.0.9.9', 'SMBDirect transport not available',
  ].join('\n');
  const d = parseDebugData(text);
  t.equal(d.version, '2.55');
  t.ok(d.features.includes('SMB_DIRECT'));
  t.same(d.servers.map((s) => [s.hostname, s.smbDirect?.connected, s.extraChannels]), [['10.0.2.15', true, 1], ['10.0.9.9', false, null]]);
  t.same(d.servers[0]!.interfaces, [
    { rdma: true, rss: false, address: '10.0.2.15', channels: 1, connected: true },
    { rdma: false, rss: true, address: '10.0.3.15', channels: 0, connected: false },
  ]);
  t.same(Object.keys(d.connections[0]!.counters), ['receive_credit_max', 'send_credit_target', 'max_send_size'], '"Number of credits" is not a counter line');
});

t.test('the evidence fact sends the DebugData lines parseDebugData reads', async (t) => {
  t.match(evidence.script, /grep -E '[^']*\^\(Conn\|Debug\|[^']*Extra Channels\|Channel: [^']*\^RDMA \*\$[^']*Capabilities:[^']*'/);
  const e = evidence.parse(new Sections(new Map([['evidence', `debugdata yes\n${fixture('7.3-siw')}tunables yes\n`]])));
  t.same(e.lines, fixture('7.3-siw').trimEnd().split('\n'));
  t.equal(parseDebugData(e.lines.join('\n')).connections[0]!.counters.max_send_size, 1364);
});
