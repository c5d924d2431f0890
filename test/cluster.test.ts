import t from 'tap';
import { clusterVar } from '../src/engine/cluster.js';
import type { Inventory } from '../src/types.js';

const inv = (): Inventory => ({
  source: 'x',
  groups: new Map(),
  hosts: new Map([
    ['srv1', { name: 'srv1', groups: ['all', 'smb_servers'], vars: { ansible_host: '10.0.0.1', ksmbd_shares: [{ name: 'data' }], ksmbd_users: [{ name: 'alice' }] } }],
    ['srv2', { name: 'srv2', groups: ['all', 'smb_servers'], vars: { ansible_host: '127.0.0.1', smbdirect_server_address: '192.168.77.10' } }],
    ['cli1', { name: 'cli1', groups: ['all', 'smb_clients'], vars: {} }],
  ]),
});

t.test('servers, their addresses (the private one first), shares and users', async (t) => {
  t.same(clusterVar(inv()), {
    servers: {
      srv1: { address: '10.0.0.1', shares: ['data'], users: ['alice'] },
      srv2: { address: '192.168.77.10', shares: [], users: [] },
    },
  });
});

t.test('extra vars win, as everywhere else', async (t) => {
  t.equal(clusterVar(inv(), { smbdirect_server_address: '10.9.9.9' }).servers.srv1!.address, '10.9.9.9');
});
