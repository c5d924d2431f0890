// Variable precedence, lowest to highest (as Ansible's VariableManager with default settings):
//   inventory-file group vars (all, then groups by depth / priority / name)
//   < group_vars/ (all, then the same group order)
//   < inventory-file host vars < host_vars/ < extra vars
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadInventory } from '../src/inventory/index.js';

type Files = Parameters<Test['testdir']>[0];
const load = async (t: Test, files: Files, entry: string, extraVars?: Record<string, unknown>) => {
  const dir = t.testdir(files);
  const warnings: string[] = [];
  const inv = await loadInventory(path.join(dir, entry), { extraVars, onWarning: (m) => void warnings.push(m) });
  return { inv, warnings, dir, vars: (h: string) => inv.hosts.get(h)!.vars };
};

t.test('every layer, one variable each', async (t) => {
  const files = {
    'hosts.ini': [
      '[leaf]',
      'h1 v5=host-file',
      'h2',
      '[mid:children]',
      'leaf',
      '[mid:vars]',
      'v1=mid-file',
      'v2=mid-file',
      '[leaf:vars]',
      'v1=leaf-file',
      '[all:vars]',
      'v0=all-file',
      'v1=all-file',
      'v2=all-file',
      'v3=all-file',
    ].join('\n'),
    group_vars: { 'all.yml': 'v3: all-group_vars\nv4: all-group_vars\n', 'mid.yml': 'v4: mid-group_vars\nv2: mid-group_vars\n' },
    host_vars: { 'h1.yml': 'v5: host_vars\nv6: host_vars\n' },
  };
  const { vars } = await load(t, files, 'hosts.ini', { v6: 'extra' });
  const h1 = vars('h1');
  t.equal(h1.v0, 'all-file', 'all group in the file');
  t.equal(h1.v1, 'leaf-file', 'deeper group beats parent and all in the file');
  t.equal(h1.v2, 'mid-group_vars', 'group_vars/ beats any group var from the file');
  t.equal(h1.v3, 'all-group_vars', 'group_vars/all beats all:vars from the file');
  t.equal(h1.v4, 'mid-group_vars', 'group_vars/mid beats group_vars/all');
  t.equal(h1.v5, 'host_vars', 'host_vars beat inline host vars');
  t.equal(h1.v6, 'extra', 'extra vars beat host_vars');
  t.equal(vars('h2').v5, undefined);
  t.equal(vars('h2').v6, 'extra');
});

t.test('host vars from the file beat group_vars', async (t) => {
  const { vars } = await load(t, { 'hosts.yml': 'all:\n  hosts:\n    h1:\n      x: file-host\n', group_vars: { 'all.yml': 'x: gv\n' } }, 'hosts.yml');
  t.equal(vars('h1').x, 'file-host');
});

t.test('same depth: alphabetical, later wins; ansible_group_priority reorders', async (t) => {
  const base = (prioA: string) =>
    [
      'all:',
      '  children:',
      '    zeta:',
      '      hosts: {h1: }',
      '      vars: {x: zeta}',
      '    alpha:',
      '      hosts: {h1: }',
      `      vars: {x: alpha${prioA}}`,
    ].join('\n');
  const plain = await load(t, { 'hosts.yml': base('') }, 'hosts.yml');
  t.equal(plain.vars('h1').x, 'zeta', 'zeta sorts after alpha, so it wins (not the order in the file)');

  const prio = await load(t, { 'hosts.yml': base(', ansible_group_priority: 10') }, 'hosts.yml');
  t.equal(prio.vars('h1').x, 'alpha', 'a higher ansible_group_priority wins among groups of the same depth');
  t.notOk('ansible_group_priority' in prio.vars('h1'), 'the priority is not a host variable');
  t.equal(prio.inv.groups.get('alpha')!.vars.ansible_group_priority, 10, 'it shows in the group vars, as ansible-inventory --export shows it');

  const ini = await load(t, { 'hosts.ini': '[zeta]\nh1\n[alpha]\nh1\n[zeta:vars]\nx=zeta\n[alpha:vars]\nx=alpha\nansible_group_priority=5\n' }, 'hosts.ini');
  t.equal(ini.vars('h1').x, 'alpha', 'priority in INI [group:vars]');

  const gv = await load(
    t,
    { 'hosts.ini': '[zeta]\nh1\n[alpha]\nh1\n', group_vars: { 'zeta.yml': 'x: zeta\n', 'alpha.yml': 'x: alpha\nansible_group_priority: 10\n' } },
    'hosts.ini',
  );
  t.equal(gv.vars('h1').x, 'zeta', 'ansible_group_priority in group_vars/ does not reorder groups (Ansible reads it only from the inventory source)');
});

t.test('depth beats priority and names; depth is the longest path from all', async (t) => {
  const text = [
    '[a_top]',
    '[z_mid:children]',
    'a_deep',
    '[a_deep]',
    'h1',
    '[a_top:children]',
    'z_mid',
    '[other]',
    'h1',
    '[other:vars]',
    'x=other',
    'ansible_group_priority=100',
    '[a_deep:vars]',
    'x=a_deep',
    '[z_mid:vars]',
    'x=z_mid',
    '[a_top:vars]',
    'x=a_top',
  ].join('\n');
  const { vars, inv } = await load(t, { 'hosts.ini': text }, 'hosts.ini');
  t.equal(vars('h1').x, 'a_deep', 'a_deep (depth 3) beats z_mid (2), a_top and other (1, priority 100)');
  t.same(vars('h1').group_names, ['a_deep', 'a_top', 'other', 'z_mid']);
  t.same(inv.hosts.get('h1')!.groups, ['all', 'a_deep', 'a_top', 'other', 'z_mid']);
});

t.test('vars merge shallowly (hash_behaviour=replace)', async (t) => {
  const { vars } = await load(
    t,
    {
      'hosts.yml': 'all:\n  vars:\n    smb: {workgroup: W, signing: required}\n  children:\n    web:\n      hosts: {h1: }\n      vars:\n        smb: {workgroup: X}\n',
    },
    'hosts.yml',
  );
  t.same(vars('h1').smb, { workgroup: 'X' }, 'the child dict replaces the parent dict');
});

t.test('group_vars lookup: NAME, NAME.yml, NAME.yaml, NAME.json, first found wins; dirs merge lexically', async (t) => {
  const { vars } = await load(
    t,
    {
      'hosts.ini': '[a]\nh1\n[b]\nh2\n[c]\nh3\n',
      group_vars: {
        a: 'from: plain\n',
        'a.yml': 'from: yml\nonly_yml: 1\n',
        'b.yaml': 'from: yaml\n',
        'b.json': '{"from": "json"}',
        c: { '10-x.yml': 'from: "10"\n', '2-y.yml': 'from: "2"\n', sub: { 'z.yml': 'from: sub\nsub: yes\n' }, 'notes.txt': 'from: txt\n' },
      },
    },
    'hosts.ini',
  );
  t.equal(vars('h1').from, 'plain', 'group_vars/a (no extension) is used');
  t.equal(vars('h1').only_yml, undefined, 'and a.yml is not read');
  t.equal(vars('h2').from, 'yaml', '.yaml before .json');
  t.equal(vars('h3').from, 'sub', 'files in lexical order (10-x, 2-y, sub/z), subdirectories included');
  t.equal(vars('h3').sub, true);
});

t.test('extra vars beat inline host vars; magic vars are set', async (t) => {
  const { vars } = await load(t, { 'hosts.ini': 'h1 x=1\n' }, 'hosts.ini', { x: 2 });
  t.equal(vars('h1').x, 2);
  t.equal(vars('h1').inventory_hostname, 'h1');
  t.same(vars('h1').group_names, ['ungrouped']);
});

t.test('directory inventory: later files override earlier ones', async (t) => {
  const { vars } = await load(
    t,
    { inv: { 'a.ini': '[web]\nh1 x=a\n[web:vars]\ng=a\n', 'b.yml': 'web:\n  hosts:\n    h1: {x: b}\n  vars: {g: b}\n' } },
    'inv',
  );
  t.equal(vars('h1').x, 'b');
  t.equal(vars('h1').g, 'b');
});
