// Inventory sources as Ansible reads them (#13 item 5), each compared with what Debian's
// ansible-inventory --list (ansible-core 2.14) prints for the same sources: -i given several
// times (each source with its own group_vars/host_vars), host lists ("a,b,"), directories (what
// they skip), YAML scalars (PyYAML's booleans and numbers), executable inventory scripts (with
// _meta.hostvars, and without it: --host per host), and the JSON of ansible-inventory --list read
// back as a file. Then the error messages of the CLI.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { loadInventory } from '../src/inventory/index.js';
import { ensurePrerequisites } from '../src/prereqs.js';
import { runCli, tmp } from './helpers/lab.js';

await ensurePrerequisites(['ansible'], (l) => t.comment(l));

const dir = tmp('sd-inv-sources-');
const FIXTURES = new URL('./fixtures/inventory-sources/', import.meta.url).pathname;
const ENV = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(dir, '.ansible-tmp'), HOME: dir };

/** Writes files (path -> text; a trailing "*" in the path makes the file executable). */
function write(base: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    const exec = name.endsWith('*');
    const file = join(base, exec ? name.slice(0, -1) : name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    if (exec) chmodSync(file, 0o755);
  }
  return base;
}

/** Python's json.dumps writes NaN and Infinity bare; read them as strings so both sides compare. */
function parsePyJson(text: string): any {
  return JSON.parse(text.replace(/: (-?Infinity|NaN)([,}\n])/g, ': "$1"$2'));
}

function ansibleInventory(args: string[]): Promise<any> {
  return new Promise((resolve, reject) =>
    execFile('ansible-inventory', [...args, '--list'], { env: ENV, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`ansible-inventory ${args.join(' ')}: ${stderr}`)) : resolve(parsePyJson(stdout))),
  );
}

async function ours(args: string[]): Promise<any> {
  const r = await runCli(['inventory', ...args, '--list']);
  if (r.code !== 0) throw new Error(`smbdirect inventory ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Both tools on the same -i arguments; returns what they print. */
async function compare(tt: Test, args: string[], what: string): Promise<any> {
  const [want, got] = await Promise.all([ansibleInventory(args), ours(args)]);
  tt.same(got, want, `${what}: same as ansible-inventory ${args.join(' ')} --list`);
  return got;
}

t.test('-i several times: merged in order, each source with its own group_vars/ and host_vars/', async (t) => {
  const base = write(join(dir, 'multi'), {
    'a/hosts': '[web]\nw1 x=a_host\nw2\n[web:vars]\ng=a\n[leaf:children]\nweb\n',
    'a/group_vars/all.yml': 'x: a_gv_all\ny: a_gv_all\nz: a_gv_all\n',
    'a/group_vars/web.yml': 'z: a_gv_web\nq: a_gv_web\n',
    'b/hosts.yml': 'all:\n  children:\n    web:\n      vars: {g: b, h: b}\n      hosts:\n        w2: {x: b_host}\n        w3:\n',
    'b/group_vars/all.yml': 'y: b_gv_all\nq: b_gv_all\n',
    'b/group_vars/leaf.yml': 'z: b_gv_leaf\n',
    'b/host_vars/w1.yml': 'x: b_hv\n',
  });
  const args = ['-i', join(base, 'a/hosts'), '-i', join(base, 'b/hosts.yml'), '-i', 'c1,c2:2222,w1,'];
  const got = await compare(t, args, 'two files and a host list');
  const hv = got._meta.hostvars;
  t.equal(hv.w1.g, 'b', 'the later source overrides a group variable');
  t.equal(hv.w1.x, 'b_hv', "the second source's host_vars/ apply");
  t.equal(hv.w1.q, 'a_gv_web', 'group_vars/GROUP of any source beats group_vars/all of every source');
  t.equal(hv.w1.z, 'b_gv_leaf', "source by source: the second source's group_vars/leaf beats the first's deeper group_vars/web");
  t.same(got.web.hosts, ['w1', 'w2', 'w3'], 'hosts added by the later source');
  t.same(got.ungrouped.hosts, ['c1', 'c2'], 'host-list hosts; w1, already known, stays in its group');
  t.equal(hv.c2.ansible_port, 2222);
  // order matters: the other way round, the INI source wins
  const swapped = await compare(t, ['-i', join(base, 'b/hosts.yml'), '-i', join(base, 'a/hosts')], 'reversed');
  t.equal(swapped._meta.hostvars.w1.g, 'a');
});

t.test('host lists', async (t) => {
  await compare(t, ['-i', 'host1,'], 'one host');
  const got = await compare(t, ['-i', ' a , b:2200,,[fe80::1]:22, 10.0.0.7 '], 'several, blanks, ports, IPv6, no trailing comma');
  t.same(got.ungrouped.hosts, ['a', 'b', 'fe80::1', '10.0.0.7']);
});

t.test('a directory reads and skips exactly what Ansible does', async (t) => {
  const base = write(join(dir, 'skips'), {
    'hosts.ini': '[a]\nh_ini\n', // .ini is in INVENTORY_IGNORE_EXTS: skipped in a directory
    'hosts.yml': 'all:\n  hosts:\n    h_yml:\n',
    hosts: '[b]\nh_noext\n',
    'x.json': '{"all": {"hosts": {"h_json": {"v": 1}}}}',
    'x.cfg': '[c]\nh_cfg\n',
    'y.INI': '[c]\nh_upper_ini\n', // the match is case-sensitive
    'z.yml~': '[c]\nh_tilde\n',
    'z.orig': '[c]\nh_orig\n',
    'z.bak': '[c]\nh_bak\n',
    'z.retry': '[c]\nh_retry\n',
    'README.md': '# x\n',
    'notes.txt': 'x\n',
    'z.conf': '[c]\nh_conf\n',
    '.hidden': '[c]\nh_hidden\n',
    'sub/more.yaml': 'all:\n  children:\n    d:\n      hosts:\n        h_sub:\n',
    'sub/skip.ini': '[d]\nh_sub_ini\n',
    'group_vars/all.yml': 'gv: 1\n',
  });
  const got = await compare(t, ['-i', base], 'directory');
  t.notOk(got._meta.hostvars.h_ini, 'hosts.ini skipped');
  t.ok(got._meta.hostvars.h_upper_ini, 'y.INI read');
});

t.test('YAML scalars resolve as in Ansible (PyYAML YAML 1.1)', async (t) => {
  const file = join(FIXTURES, 'scalars.yml');
  const want = (await ansibleInventory(['-i', file]))._meta.hostvars.scalars;
  const inv = await loadInventory(file, { onWarning: () => {} });
  const { inventory_file, inventory_dir, inventory_hostname, inventory_hostname_short, group_names, ...got } = inv.hosts.get('scalars')!.vars;
  const asPy = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
  // deliberate differences (docs/inventory.md): integers beyond 2^53 stay text; timestamps stay as written
  const deliberate: Record<string, unknown> = { s_big: '123456789012345678901234567890', s_datetime: '2001-12-14t21:59:43.10-05:00' };
  t.equal(want.s_datetime, '2001-12-14T21:59:43.100000-05:00', 'Ansible rewrites a timestamp (we keep the text)');
  for (const [k, v] of Object.entries(want)) {
    t.same(asPy(got[k]), k in deliberate ? deliberate[k] : v, `${k}: ${JSON.stringify(v)}`);
  }
  t.same(Object.keys(got).sort(), Object.keys(want).sort(), 'the same variables');
  t.equal(got.s_y, 'y', '"y" is a string, not a boolean');
  t.equal(got.s_1e3, '1e3', '"1e3" (exponent without sign) is a string');
});

const META_SCRIPT = `#!/bin/sh
echo "$@" >> "$(dirname "$0")/../$(basename "$0").calls"
if [ "$1" = "--list" ]; then
cat <<'J'
{"web": {"hosts": ["w1", "w2"], "vars": {"role": "web", "port": 8080}, "children": ["api"]},
 "api": ["a1"],
 "solo": {"answer": 42},
 "_meta": {"hostvars": {"w1": {"ansible_host": "10.0.0.1"}, "a1": {"flag": true}, "ghost": {"x": 1}}}}
J
else echo '{"never": "asked"}'; fi
`;
const NOMETA_SCRIPT = `#!/usr/bin/env python3
import json, os, sys
with open(os.path.join(os.path.dirname(sys.argv[0]), '..', os.path.basename(sys.argv[0]) + '.calls'), 'a') as f:
    f.write(' '.join(sys.argv[1:]) + '\\n')
if sys.argv[1] == '--list':
    print(json.dumps({"db": {"hosts": ["d1", "d2"], "vars": {"role": "db"}}, "all": {"vars": {"dbvar": "x"}}}))
else:
    print(json.dumps({"hv": sys.argv[2].upper()}))
`;

t.test('executable inventory scripts', async (t) => {
  const base = write(join(dir, 'scripts'), {
    'inv/meta.sh*': META_SCRIPT,
    'inv/nometa.py*': NOMETA_SCRIPT,
    'inv/static.yml': 'all:\n  children:\n    web:\n      hosts:\n        w3:\n',
    'inv/group_vars/db.yml': 'role: group_vars\n',
    'inv/host_vars/w2.yml': 'hv: w2\n',
  });
  const got = await compare(t, ['-i', join(base, 'inv')], 'scripts in a directory, with group_vars/ and host_vars/');
  t.equal(got._meta.hostvars.w1.ansible_host, '10.0.0.1', 'from _meta.hostvars');
  t.equal(got._meta.hostvars.d1.hv, 'D1', 'from --host, without _meta');
  t.equal(got._meta.hostvars.solo.answer, 42, 'a group without hosts/vars/children is a host with those variables');
  t.notOk(got._meta.hostvars.ghost, 'a host only in _meta.hostvars is not added');
  // each tool ran each script (calls logged outside the inventory directory): with _meta only --list; without it --list then --host per host
  const calls = (f: string) => readFileSync(join(base, f + '.calls'), 'utf8').trim().split('\n').sort();
  t.same(calls('meta.sh'), ['--list', '--list']);
  t.same(calls('nometa.py'), ['--host d1', '--host d1', '--host d2', '--host d2', '--list', '--list']);
  // a script given directly with -i, its group_vars/ beside it
  await compare(t, ['-i', join(base, 'inv/nometa.py')], 'a script given with -i');
});

t.test('the JSON of ansible-inventory --list reads back as an inventory file (and its -y YAML)', async (t) => {
  const base = write(join(dir, 'export'), {
    'src/meta.sh*': META_SCRIPT,
    'src/hosts.yml': 'all:\n  vars: {v: 1}\n  children:\n    web:\n      vars: {w: yes}\n      hosts:\n        w7: {ansible_port: 2200}\n',
  });
  const want = await ansibleInventory(['-i', join(base, 'src')]);
  writeFileSync(join(base, 'inventory.json'), JSON.stringify(want, null, 2));
  t.same(await ours(['-i', join(base, 'inventory.json')]), want, 'same groups, hosts and variables as the source it came from');
  // the YAML export (--list -y) is a static YAML inventory, for both tools
  const yaml = await new Promise<string>((resolve, reject) =>
    execFile('ansible-inventory', ['-i', join(base, 'src'), '--list', '-y'], { env: ENV }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
  writeFileSync(join(base, 'static.yml'), yaml);
  await compare(t, ['-i', join(base, 'static.yml')], 'the --list -y export');
});

t.test('error messages', async (t) => {
  const base = write(join(dir, 'errors'), {
    'fails.sh*': '#!/bin/sh\necho "cannot reach the cloud API" >&2\nexit 3\n',
    'garbage.sh*': '#!/bin/sh\necho "not json"\n',
    'noexec.py': '#!/usr/bin/env python3\nprint("{}")\n',
    'list.sh*': '#!/bin/sh\necho \'["a"]\'\n',
    'badhosts.sh*': '#!/bin/sh\necho \'{"web": {"hosts": "w1"}}\'\n',
    'aws_ec2.yml': 'plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n',
  });
  const err = async (args: string[]) => {
    const r = await runCli(['inventory', ...args, '--list']);
    t.equal(r.code, 1, `${args.join(' ')} fails`);
    return r.stderr;
  };
  const f = (name: string) => join(base, name);
  t.match(await err(['-i', f('fails.sh')]), `${f('fails.sh')}: inventory script "${f('fails.sh')} --list" failed with exit status 3; its stderr:\ncannot reach the cloud API`);
  t.match(await err(['-i', f('garbage.sh')]), `the output of "${f('garbage.sh')} --list" is not valid JSON`);
  t.match(await err(['-i', f('noexec.py')]), `noexec.py:1: this file starts with "#!" like an inventory script, but it is not executable (key: noexec.py). Make it executable (chmod +x ${f('noexec.py')})`);
  t.match(await err(['-i', f('list.sh')]), 'the inventory JSON must be an object of groups, found a list');
  t.match(await err(['-i', f('badhosts.sh')]), 'group "web" has bad data for its host list: "w1"');
  t.match(
    await err(['-i', f('aws_ec2.yml')]),
    `dynamic inventory plugin "amazon.aws.aws_ec2", not a static inventory (key: plugin). Inventory plugins are not run here: export what it finds with "ansible-inventory -i ${f('aws_ec2.yml')} --list > inventory.json" and pass -i inventory.json instead.`,
  );
  t.match(await err(['-i', f('aws_ec2.yml'), '-i', f('nothere')]), `${f('aws_ec2.yml')}:1:`, 'sources are read in order');
  t.match(await err(['-i', 'host1,', '-i', f('nothere')]), `${f('nothere')}: inventory not found`, 'a missing path (without a comma) is an error, not a host');
});
