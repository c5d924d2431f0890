import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { inventoryGraph, inventoryList, loadInventory, parseExtraVars, selectHosts } from '../src/inventory/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = (p: string) => path.join(here, 'fixtures', 'inventory', p);

const quiet = () => {
  const warnings: string[] = [];
  return { warnings, onWarning: (m: string) => void warnings.push(m) };
};

t.test('YAML inventory: groups, children, ranges, ports, group_vars dir, host_vars', async (t) => {
  const w = quiet();
  const inv = await loadInventory(fx('yaml/hosts.yml'), { onWarning: w.onWarning });
  t.same(w.warnings, []);
  t.equal(inv.source, fx('yaml/hosts.yml'));
  t.same(
    [...inv.hosts.keys()],
    [
      'jump.example.com',
      'stor01.ib.example.com',
      'stor02.ib.example.com',
      'stor03.ib.example.com',
      'stor-roce-a.example.com',
      'stor-roce-b.example.com',
      'client1.example.com',
      'client5.example.com',
      'client9.example.com',
      '10.0.5.20',
      '2001:db8::5',
    ],
    'hosts in inventory order; [01:03] keeps zero padding, [a:b] letters, [1:9:4] step',
  );
  t.same(
    [...inv.groups.keys()].sort(),
    ['all', 'clients', 'monitoring', 'storage', 'storage_ib', 'storage_roce', 'ungrouped'],
  );
  t.same(inv.groups.get('storage')!.children, ['storage_ib', 'storage_roce']);
  t.same(inv.groups.get('all')!.children, ['ungrouped', 'storage', 'clients', 'monitoring']);
  t.same(inv.groups.get('ungrouped')!.hosts, ['jump.example.com'], 'a host directly under all: is ungrouped');

  const stor01 = inv.hosts.get('stor01.ib.example.com')!;
  t.same(stor01.groups, ['all', 'monitoring', 'storage', 'storage_ib']);
  t.same(stor01.vars.group_names, ['monitoring', 'storage', 'storage_ib']);
  t.equal(stor01.vars.inventory_hostname, 'stor01.ib.example.com');
  t.equal(stor01.vars.inventory_hostname_short, 'stor01');
  t.equal(stor01.vars.inventory_file, fx('yaml/hosts.yml'));
  t.equal(stor01.vars.inventory_dir, fx('yaml'));
  t.equal(stor01.vars.ansible_host, '10.0.1.1', 'host_vars/NAME.yml');
  t.equal(stor01.vars.tier, 'host_vars-level', 'host_vars beat every group');
  t.equal(stor01.vars.rdma_mtu, 1024);
  t.equal(stor01.vars.ansible_become, true, 'YAML 1.1: yes is a boolean, as in Ansible');
  t.same(stor01.vars.ntp_servers, ['0.pool.ntp.org', '1.pool.ntp.org']);

  const stor02 = inv.hosts.get('stor02.ib.example.com')!;
  t.equal(stor02.vars.tier, 'storage-group_vars', 'group_vars/storage beats the deeper storage_ib vars of the inventory file');
  t.equal(stor02.vars.rdma_transport, 'infiniband');
  t.equal(stor02.vars.rdma_mtu, 2048, 'group_vars/storage/ overrides storage vars from the file');
  t.equal(stor02.vars.ksmbd_workgroup, 'STORAGE', 'files of a group_vars dir merge in lexical order; hidden, ~ and .md are skipped');
  t.equal(stor02.vars.smb_share_root, '/srv/smb-from-group_vars', 'group_vars/all.yml beats all: vars: in the file');
  t.equal(stor02.vars.domain, 'example.com');

  const roce = inv.hosts.get('stor-roce-b.example.com')!;
  t.equal(roce.vars.ansible_ssh_private_key_file, '~/.ssh/roce_ed25519', 'range hosts share their vars');
  t.equal(roce.vars.rdma_transport, 'roce');

  const jump = inv.hosts.get('jump.example.com')!;
  t.same(jump.groups, ['all', 'ungrouped']);
  t.same(jump.vars.group_names, ['ungrouped']);
  t.equal(jump.vars.ansible_port, 2222);
  t.equal(jump.vars.tier, 'all-level');

  const c = inv.hosts.get('10.0.5.20')!;
  t.equal(c.vars.ansible_user, 'admin', 'host vars beat group vars');
  t.equal(c.vars.ansible_connection, 'ssh');
  t.equal(c.vars.ansible_ssh_common_args, '-o ProxyJump=jump.example.com');
  t.equal(c.vars.ansible_become_user, 'root', 'host_vars file without extension');
  t.equal(c.vars.mount_opts, 'vers=3.1.1,rdma,soft', 'group_vars/clients.json');
  t.equal(c.vars.client_json, true);
  t.equal(c.vars.inventory_hostname_short, '10.0.5.20', 'IP addresses are not shortened');

  const v6 = inv.hosts.get('2001:db8::5')!;
  t.equal(v6.vars.ansible_port, 2200, '"[v6]:port" host key');
  t.equal(v6.vars.ansible_user, 'deploy');

  t.same(inv.groups.get('storage')!.vars, { tier: 'storage-group_vars', rdma_mtu: 2048, ksmbd_workgroup: 'STORAGE' }, 'group vars = file vars + group_vars/');
});

t.test('INI inventory: sections, inline vars, literal values, children, group_vars, host_vars', async (t) => {
  const w = quiet();
  const inv = await loadInventory(fx('ini/hosts.ini'), { onWarning: w.onWarning });
  t.same(w.warnings, []);
  t.same(
    [...inv.hosts.keys()],
    ['bastion', 'nas01.lab', 'nas02.lab', 'nas03.lab', 'nas04.lab', 'client-a.lab', 'client-b.lab', 'client-c.lab'],
  );
  t.same(inv.groups.get('ungrouped')!.hosts, ['bastion'], 'hosts before any section are ungrouped');
  t.same(inv.groups.get('lab')!.children, ['ksmbd', 'cifs']);
  t.same(inv.groups.get('all')!.children, ['ungrouped', 'lab']);

  const b = inv.hosts.get('bastion')!;
  t.equal(b.vars.ansible_host, '198.51.100.7');
  t.equal(b.vars.ansible_port, 2222, 'inline integers become numbers');
  t.equal(b.vars.ansible_user, 'ops-from-group_vars', 'group_vars/all (no extension) beats [all:vars]');
  t.equal(b.vars.site, 'all-group');

  const n1 = inv.hosts.get('nas01.lab')!;
  t.same(n1.groups, ['all', 'ksmbd', 'lab']);
  t.equal(n1.vars.rdma, true, 'True is a boolean');
  t.equal(n1.vars.smb_port, 5445, 'host_vars/NAME.yaml beats inline host vars');
  t.equal(n1.vars.ansible_user, 'root', 'inline host vars beat group_vars/all');
  t.equal(inv.hosts.get('nas02.lab')!.vars.smb_port, 445);

  const n3 = inv.hosts.get('nas03.lab')!;
  t.equal(n3.vars.ansible_port, 2200, 'host:port');
  t.equal(n3.vars.mysecret, '03#pa33w0rd', 'quoted value keeps "#"');
  t.equal(n3.vars.label, 'file server');

  const n4 = inv.hosts.get('nas04.lab')!;
  t.equal(n4.vars.flag, 'true', 'lowercase true stays a string, as with Python literal_eval');
  t.equal(n4.vars.mode, '0644', 'leading zeros stay a string');
  t.equal(n4.vars.ratio, 1.5);
  t.equal(n4.vars.quoted, 22, 'shell quotes are removed first, so "22" is the integer 22 (Ansible does the same)');
  t.same(n4.vars.ports, [445, 5445]);

  const ca = inv.hosts.get('client-a.lab')!;
  t.equal(ca.vars.mount_opts, 'vers=3.1.1,rdma', ':vars lines split at the first "="');
  t.equal(ca.vars.ansible_become, true);
  t.equal(ca.vars.retries, 3, 'a trailing comment after a literal is ignored');
  t.equal(ca.vars.site, 'lab-group_vars', 'group_vars/lab.yml beats [cifs:vars] even though cifs is deeper');
  t.equal(ca.vars.ntp, 'pool.ntp.org', 'vars inherited from the parent group');
  t.same(ca.vars.group_names, ['cifs', 'lab']);
});

t.test('directory inventory: files merged in order, ignored names skipped, host_vars dir', async (t) => {
  const w = quiet();
  const inv = await loadInventory(fx('dir'), { onWarning: w.onWarning });
  t.same(w.warnings, []);
  t.same([...inv.hosts.keys()], ['fs01', 'fs02', 'fs03', 'edge1', 'edge2', 'edge3']);
  t.same([...inv.groups.keys()], ['all', 'ungrouped', 'fileservers', 'edge']);
  t.same(inv.groups.get('fileservers')!.hosts, ['fs01', 'fs02', 'fs03'], 'a group defined in two files is one group');
  t.same(inv.groups.get('edge')!.hosts, ['edge1', 'edge2', 'edge3'], 'files without extension: INI or YAML by content');
  const fs01 = inv.hosts.get('fs01')!;
  t.equal(fs01.vars.role, 'fileserver-ini', 'a later file overrides a group var of an earlier one');
  t.equal(fs01.vars.share, 'fs01-b', 'host_vars/fs01/ files merged in lexical order');
  t.equal(fs01.vars.disk, 'nvme0n1');
  t.equal(fs01.vars.inventory_file, fx('dir/01-static.yml'));
  t.equal(inv.hosts.get('fs02')!.vars.share, 'data', 'group_vars/ inside the inventory dir');
  t.equal(inv.hosts.get('fs03')!.vars.inventory_file, fx('dir/02-more.hosts'), 'any extension Ansible does not skip is read ("x.ini" is skipped in a directory, as in Ansible)');
});

t.test('extra vars have the highest precedence', async (t) => {
  const extraVars = await parseExtraVars(['tier=cli rdma_mtu=9000', '{"ansible_user": "cli-user"}']);
  const inv = await loadInventory(fx('yaml/hosts.yml'), { extraVars, onWarning: () => {} });
  const h = inv.hosts.get('stor01.ib.example.com')!;
  t.equal(h.vars.tier, 'cli', 'beats host_vars');
  t.equal(h.vars.rdma_mtu, '9000', 'key=value extra vars are strings, as in Ansible');
  t.equal(h.vars.ansible_user, 'cli-user');
  for (const host of inv.hosts.values()) t.equal(host.vars.tier, 'cli');
  t.equal(inv.groups.get('storage')!.vars.tier, 'storage-group_vars', 'group specs keep their own vars');
});

t.test('hosts get independent copies of shared values', async (t) => {
  const inv = await loadInventory(fx('yaml/hosts.yml'), { onWarning: () => {} });
  const a = inv.hosts.get('stor02.ib.example.com')!.vars.ntp_servers as string[];
  a.push('mutated');
  t.same(inv.hosts.get('stor03.ib.example.com')!.vars.ntp_servers, ['0.pool.ntp.org', '1.pool.ntp.org']);
});

t.test('inventoryGraph matches ansible-inventory --graph', async (t) => {
  const inv = await loadInventory(fx('yaml/hosts.yml'), { onWarning: () => {} });
  t.equal(
    inventoryGraph(inv),
    [
      '@all:',
      '  |--@ungrouped:',
      '  |  |--jump.example.com',
      '  |--@storage:',
      '  |  |--@storage_ib:',
      '  |  |  |--stor01.ib.example.com',
      '  |  |  |--stor02.ib.example.com',
      '  |  |  |--stor03.ib.example.com',
      '  |  |--@storage_roce:',
      '  |  |  |--stor-roce-a.example.com',
      '  |  |  |--stor-roce-b.example.com',
      '  |--@clients:',
      '  |  |--client1.example.com',
      '  |  |--client5.example.com',
      '  |  |--client9.example.com',
      '  |  |--10.0.5.20',
      '  |  |--2001:db8::5',
      '  |--@monitoring:',
      '  |  |--stor01.ib.example.com',
    ].join('\n'),
  );
  t.equal(inventoryGraph(inv, 'storage').split('\n')[0], '@storage:');
  const dir = await loadInventory(fx('dir'), { onWarning: () => {} });
  t.equal(
    inventoryGraph(dir),
    ['@all:', '  |--@ungrouped:', '  |--@fileservers:', '  |  |--fs01', '  |  |--fs02', '  |  |--fs03', '  |--@edge:', '  |  |--edge1', '  |  |--edge2', '  |  |--edge3'].join('\n'),
    'an empty ungrouped is still drawn',
  );
  t.throws(() => inventoryGraph(inv, 'nope'), { name: 'InventoryError', message: /"nope" is not a group of this inventory \(key: nope\)\. Pass a group name/ });
});

t.test('inventoryList matches ansible-inventory --list', async (t) => {
  const inv = await loadInventory(fx('ini/hosts.ini'), { onWarning: () => {} });
  const list = inventoryList(inv) as Record<string, any>;
  t.same(Object.keys(list), ['_meta', 'all', 'cifs', 'ksmbd', 'lab', 'ungrouped'], 'keys sorted as ansible-inventory dumps them');
  t.same(list.all, { children: ['ungrouped', 'lab'] });
  t.same(list.lab, { children: ['ksmbd', 'cifs'] });
  t.same(list.ksmbd, { hosts: ['nas01.lab', 'nas02.lab', 'nas03.lab', 'nas04.lab'] });
  t.same(list.ungrouped, { hosts: ['bastion'] });
  t.same(list._meta.hostvars.bastion, {
    ansible_host: '198.51.100.7',
    ansible_port: 2222,
    ansible_user: 'ops-from-group_vars',
    site: 'all-group',
  });
  t.same(Object.keys(list._meta.hostvars['nas04.lab']), ['ansible_user', 'flag', 'mode', 'ntp', 'ports', 'quoted', 'ratio', 'site']);
  for (const vars of Object.values(list._meta.hostvars) as Record<string, unknown>[]) {
    t.notOk('inventory_hostname' in vars || 'group_names' in vars || 'inventory_file' in vars, 'magic vars are left out');
  }
  const dir = inventoryList(await loadInventory(fx('dir'), { onWarning: () => {} })) as Record<string, any>;
  t.notOk('ungrouped' in dir, 'empty groups are left out');
  t.same(dir.all, { children: ['ungrouped', 'fileservers', 'edge'] });
  t.notOk('edge2' in dir._meta.hostvars, 'hosts without variables are left out of hostvars');
  t.same(JSON.parse(JSON.stringify(list)), list, 'plain JSON');
});

t.test('selectHosts on a real inventory', async (t) => {
  const inv = await loadInventory(fx('yaml/hosts.yml'), { onWarning: () => {} });
  t.same(selectHosts(inv, 'storage:&monitoring'), ['stor01.ib.example.com']);
  t.same(selectHosts(inv, 'storage:!storage_roce'), ['stor01.ib.example.com', 'stor02.ib.example.com', 'stor03.ib.example.com']);
  t.same(selectHosts(inv, 'stor0*'), ['stor01.ib.example.com', 'stor02.ib.example.com', 'stor03.ib.example.com']);
  t.same(selectHosts(inv, 'clients[0:1]'), ['client1.example.com', 'client5.example.com']);
  t.same(selectHosts(inv, 'nothing-here'), []);
});
