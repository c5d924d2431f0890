import t from 'tap';
import { clusterVar } from '../src/smb/inventory-cluster.js';
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

t.test('the engine learns no SMB: every SMB task declares the cluster as its inventoryVars, the sample tasks do not, and a run derives it once from the inventory', async (t) => {
  const { readdirSync } = await import('node:fs');
  const { clusterVars } = await import('../src/smb/inventory-cluster.js');
  const load = async (dir: string) => Promise.all(readdirSync(new URL(`../tasks/${dir}/`, import.meta.url)).filter((f) => f.endsWith('.ts'))
    .map(async (f) => [f, ((await import(`../tasks/${dir}/${f.replace(/\.ts$/, '.js')}`)) as { default: { inventoryVars?: unknown } }).default] as const));
  const smb = await load('smbdirect');
  t.ok(smb.length >= 15, `${smb.length} SMB tasks`);
  for (const [f, task] of smb) t.equal(task.inventoryVars, clusterVars, `tasks/smbdirect/${f}`);
  for (const [f, task] of await load('sample')) t.equal(task.inventoryVars, undefined, `tasks/sample/${f}: nothing derived`);
  t.same(clusterVars(inv(), {}, () => undefined), { smbdirect_cluster: clusterVar(inv()) }, 'the var, as src/smb/cluster.ts reads it');
  const engine = (await import('node:fs')).readFileSync(new URL('../src/engine/runner.ts', import.meta.url), 'utf8');
  t.notMatch(engine, /smb\/|smbdirect_cluster/, 'the runner imports nothing of src/smb and names no cluster var');
});
