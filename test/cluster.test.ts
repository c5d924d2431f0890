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

t.test('a server without ansible_host: where SSH reaches it (an ssh_config HostName), else its name', async (t) => {
  const i = inv();
  i.hosts.set('storage1', { name: 'storage1', groups: ['all', 'smb_servers'], vars: {} });
  const at = clusterVar(i, {}, (h) => (h.name === 'storage1' ? '10.0.0.7' : '10.6.6.6'));
  t.same([at.servers.storage1!.address, at.servers.srv1!.address], ['10.0.0.7', '10.0.0.1'], 'ansible_host still first');
  t.equal(clusterVar(i).servers.storage1!.address, 'storage1');
});

t.test('extra vars win, as everywhere else', async (t) => {
  t.equal(clusterVar(inv(), { smbdirect_server_address: '10.9.9.9' }).servers.srv1!.address, '10.9.9.9');
});
