// ksmbd's RDMA ports by kernel release and device type (src/smb/rdma-ports.ts; domain notes §3, §8).
import t from 'tap';
import { kernel, type KernelFacts } from '../src/facts/kernel.js';
import { Sections } from '../src/facts/fact.js';
import { modeTypes, rdmaPorts } from '../src/smb/rdma-ports.js';

const k = (release: string): KernelFacts => kernel.parse(new Sections(new Map([['kernel', `${release}\n#1\nx86_64\n`]])));
const [OLD, NEW, SEVEN] = [k('6.12.38+deb13-amd64'), k('6.18.3-amd64'), k('7.3.4+deb13-amd64')];

t.test('old kernels: one listener, 5445 when any iWARP device exists, else 445', async (t) => {
  t.same(rdmaPorts(OLD, ['iwarp']).listeners, [{ port: 5445, types: ['iwarp'] }]);
  t.same(rdmaPorts(OLD, ['roce']).listeners, [{ port: 445, types: ['roce'] }]);
  t.same(rdmaPorts(OLD, ['roce', 'iwarp']).listeners, [{ port: 5445, types: ['iwarp', 'roce'] }], 'mixed: RoCE clients are sent to 5445 too');
  t.same(rdmaPorts(OLD, ['roce']).client, { roce: 5445 }, 'the old client tries 5445 first');
  t.equal(rdmaPorts(OLD, ['iwarp']).perType, false);
  t.match(rdmaPorts(OLD, []).rule, /^kernel 6\.12\.38\+deb13-amd64 has one RDMA listener/);
});

t.test('6.18 and 7.x: a listener per node type, iWARP 5445, InfiniBand/RoCE 445', async (t) => {
  for (const kern of [NEW, SEVEN]) {
    t.same(rdmaPorts(kern, ['roce', 'iwarp', 'ib']).listeners, [{ port: 5445, types: ['iwarp'] }, { port: 445, types: ['ib', 'roce'] }], kern.release);
    t.same(rdmaPorts(kern, ['roce', 'iwarp']).client, { iwarp: 5445, roce: 445 }, 'the client tries only its type\'s port');
  }
  t.same(rdmaPorts(SEVEN, ['roce']).listeners, [{ port: 445, types: ['roce'] }]);
  t.match(rdmaPorts(SEVEN, []).rule, /listens for iWARP on 5445 and for InfiniBand\/RoCE on 445/);
  t.equal(rdmaPorts(k('weird'), ['iwarp']).perType, false, 'an unparsable release is treated as old');
});

t.test('firewall: siw needs TCP 5445, rxe UDP 4791 (RoCEv2), InfiniBand nothing, on every kernel', async (t) => {
  for (const kern of [OLD, SEVEN]) {
    t.same(rdmaPorts(kern, modeTypes('siw', [])).firewall, [{ port: 5445, proto: 'tcp', why: 'SMB Direct over iWARP' }]);
    t.same(rdmaPorts(kern, modeTypes('rxe', [])).firewall, [{ port: 4791, proto: 'udp', why: 'RoCEv2' }]);
    t.same(rdmaPorts(kern, ['ib', 'unknown']).firewall, []);
  }
  t.same(modeTypes('hardware', [{ nodeType: 'ib' }, { nodeType: 'roce' }]), ['ib', 'roce']);
});
