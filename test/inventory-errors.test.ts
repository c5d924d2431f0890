// Every InventoryError: the exact message (file:line, problem, key, what to do), line and key.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { InventoryError, loadInventory, parseExtraVars, selectHosts } from '../src/inventory/index.js';

interface Expect {
  message: string;
  line?: number;
  key?: string;
}

async function expectLoadError(
  t: Test,
  files: Parameters<Test['testdir']>[0],
  entry: string,
  expected: Expect,
): Promise<void> {
  const dir = t.testdir(files);
  const warnings: string[] = [];
  try {
    await loadInventory(path.join(dir, entry), { onWarning: (m) => void warnings.push(m) });
    t.fail('expected an InventoryError');
  } catch (e) {
    t.type(e, InventoryError);
    const err = e as InventoryError;
    t.equal(err.message.split(`${dir}${path.sep}`).join(''), expected.message);
    t.equal(err.line, expected.line, 'line');
    t.equal(err.key, expected.key, 'key');
    t.ok(err.file?.startsWith(dir), 'file names the file');
  }
}

t.test('YAML inventory errors', async (t) => {
  t.test('syntax error', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  hosts:\n    web1: {a: 1\n  vars:\n    x: 1\n' }, 'hosts.yml', {
      message:
        'hosts.yml:4: YAML inventory is not valid YAML: Flow map in block collection must be sufficiently indented and end with a }. Fix the YAML at that line (check the indentation, the ":" after keys and the quoting).',
      line: 4,
    }),
  );
  t.test('top level is a list', (t) =>
    expectLoadError(t, { 'hosts.yml': '- web1\n- web2\n' }, 'hosts.yml', {
      message: 'hosts.yml:1: a YAML inventory must be a mapping of group names, found a list. Start the file with "all:" and put "hosts:", "vars:" and "children:" under it.',
      line: 1,
    }),
  );
  t.test('dynamic inventory plugin config', (t) =>
    expectLoadError(t, { 'aws_ec2.yml': 'plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n' }, 'aws_ec2.yml', {
      message:
        'aws_ec2.yml:1: this is the configuration of the dynamic inventory plugin "amazon.aws.aws_ec2", not a static inventory (key: plugin). Inventory plugins are not run here: export what it finds with "ansible-inventory -i aws_ec2.yml --list > inventory.json" and pass -i inventory.json instead.',
      line: 1,
      key: 'plugin',
    }),
  );
  t.test('children is a list', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  children:\n    - web\n    - db\n' }, 'hosts.yml', {
      message:
        'hosts.yml:3: "children" of group "all" must be a mapping, found a list (key: children). Write each child group as a key ending in ":" under "children:" (e.g. "db:" with its hosts/vars/children indented below), not as a list item "- db".',
      line: 3,
      key: 'children',
    }),
  );
  t.test('a child group is not a mapping', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  children:\n    web: [web1, web2]\n' }, 'hosts.yml', {
      message:
        'hosts.yml:3: child group "web" of group "all" must be a mapping (with hosts/vars/children) or empty, found a list (key: web). Write "web:" and indent its "hosts:", "vars:" or "children:" below it, or leave it empty.',
      line: 3,
      key: 'web',
    }),
  );
  t.test('hosts is a list', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  hosts:\n    - web1\n' }, 'hosts.yml', {
      message:
        'hosts.yml:3: "hosts" of group "all" must be a mapping, found a list (key: hosts). Write each host as a key ending in ":" under "hosts:" (e.g. "web1:" with its variables indented below), not as a list item "- web1".',
      line: 3,
      key: 'hosts',
    }),
  );
  t.test('vars is a list', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  vars:\n    - a: 1\n' }, 'hosts.yml', {
      message: 'hosts.yml:3: "vars" of group "all" must be a mapping, found a list (key: vars). Write each variable as "name: value" under "vars:", not as a list item.',
      line: 3,
      key: 'vars',
    }),
  );
  t.test('host value is a string', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  hosts:\n    web1: 10.0.0.1\n' }, 'hosts.yml', {
      message:
        'hosts.yml:3: host "web1" in group "all" must have a mapping of variables or nothing, found a string (key: web1). Indent the variables below "web1:" as "name: value", or leave it empty ("web1:").',
      line: 3,
      key: 'web1',
    }),
  );
  t.test('host name is a number', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  hosts:\n    1234:\n' }, 'hosts.yml', {
      message:
        'hosts.yml:3: host name 1234 in group "all" is a number, not a string (key: 1234). Enclose the host name in quotation marks (e.g. "\'10\':").',
      line: 3,
      key: '1234',
    }),
  );
  t.test('group vars key is not a string', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  vars:\n    80: http\n' }, 'hosts.yml', {
      message:
        'hosts.yml:3: variable name 80 in the vars of group "all" is not a string but a number (key: 80). Variable names must be strings: quote the name or rename it (e.g. "port_80: ...").',
      line: 3,
      key: '80',
    }),
  );
  t.test('host vars key is not a string', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      10: x\n' }, 'hosts.yml', {
      message: 'hosts.yml:4: variable name 10 in host "web1" is not a string but a number (key: 10). Variable names must be strings: quote the name or rename it.',
      line: 4,
      key: '10',
    }),
  );
  t.test('group is its own child', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  children:\n    web:\n      children:\n        web:\n' }, 'hosts.yml', {
      message: 'hosts.yml:5: group "web" is listed as a child of itself (key: web). Remove "web" from the children of "web".',
      line: 5,
      key: 'web',
    }),
  );
  t.test('children loop', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n' }, 'hosts.yml', {
      message:
        'hosts.yml:5: adding group "b" as a child of "a" creates a loop ("b" is already above "a") (key: b). Remove "b" from the children of "a" or "a" from the groups under "b".',
      line: 5,
      key: 'b',
    }),
  );
  t.test('ansible_group_priority is not an integer', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  children:\n    web:\n      vars:\n        ansible_group_priority: high\n' }, 'hosts.yml', {
      message:
        'hosts.yml:5: ansible_group_priority of group "web" must be an integer, found a string ("high") (key: ansible_group_priority). Set it to a whole number such as 10; higher wins over sibling groups.',
      line: 5,
      key: 'ansible_group_priority',
    }),
  );
  t.test('inline vault value', (t) =>
    expectLoadError(t, { 'hosts.yml': 'all:\n  vars:\n    pw: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3131\n' }, 'hosts.yml', {
      message:
        'hosts.yml:3: the !vault value of variable "pw" is encrypted with Ansible Vault, and no vault password was given (key: pw). Pass the vault password with --vault-password-file FILE, --vault-id LABEL@FILE (or LABEL@prompt) or --ask-vault-pass.',
      line: 3,
      key: 'pw',
    }),
  );
  t.test('YAML in a file without extension', (t) =>
    expectLoadError(t, { hosts: 'all:\n  hosts:\n    web1: [\n' }, 'hosts', {
      message:
        'hosts:4: YAML inventory is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]. Fix the YAML at that line (check the indentation, the ":" after keys and the quoting).',
      line: 4,
    }),
  );
  t.end();
});

t.test('host range errors', async (t) => {
  const cases: Array<[string, string]> = [
    ['web[5:1]', 'begin 5 is after end 1 (key: web[5:1]). Write the range in ascending order, e.g. [1:5].'],
    ['web[01:5]', '"01" and "5" have different widths (key: web[01:5]). Pad both ends to the same width, e.g. [01:05].'],
    ['web[x]', '"[x]" is not begin:end or begin:end:step (key: web[x]). Write the range as [1:10], [01:10], [a:f] or [1:10:2].'],
    ['web[c:a]', 'begin "c" is after end "a" (key: web[c:a]). Write the range in ascending order, e.g. [a:c].'],
    ['web[1:', 'a "[" without a closing "]" (key: web[1:). Close the range, e.g. "web[01:10]", or quote the name if "[" is literal.'],
    ['web[1:]', '"[1:]" has no end value (key: web[1:]). Give both ends, e.g. [1:10].'],
    ['web[1:5:0]', 'step "0" is not a positive integer (key: web[1:5:0]). Use a step of 1 or more, e.g. [1:10:2].'],
    ['web[a:5]', '"[a:5]" mixes letters and numbers or is not a range (key: web[a:5]). Use numbers on both ends ([1:10]) or single letters on both ends ([a:f]).'],
  ];
  for (const [name, rest] of cases) {
    await t.test(name, (t) =>
      expectLoadError(t, { 'hosts.yml': `all:\n  hosts:\n    "${name}":\n` }, 'hosts.yml', {
        message: `hosts.yml:3: invalid host range in "${name}": ${rest}`,
        line: 3,
        key: name,
      }),
    );
  }
  await t.test('in INI', (t) =>
    expectLoadError(t, { 'hosts.ini': '[web]\nweb[9:3]\n' }, 'hosts.ini', {
      message: 'hosts.ini:2: invalid host range in "web[9:3]": begin 9 is after end 3 (key: web[9:3]). Write the range in ascending order, e.g. [3:9].',
      line: 2,
      key: 'web[9:3]',
    }),
  );
});

t.test('INI inventory errors', async (t) => {
  const cases: Array<[string, string, string, Expect]> = [
    ['unknown section type', '[web:foo]\nweb1\n', 'hosts.ini', {
      message: 'hosts.ini:1: section [web:foo] has unknown type "foo" (key: [web:foo]). Use [web] for hosts, [web:vars] for variables or [web:children] for child groups.',
      line: 1, key: '[web:foo]',
    }],
    ['bad section header', '[web servers]\nweb1\n', 'hosts.ini', {
      message: 'hosts.ini:1: invalid section header [web servers] (key: [web servers]). Write sections as [name], [name:vars] or [name:children] with no spaces and no other ":" or "]" in the name.',
      line: 1, key: '[web servers]',
    }],
    ['";" comment after a section header', '[web] ; web servers\nweb1\n', 'hosts.ini', {
      message: 'hosts.ini:1: section header [web] ; web servers is followed by a ";" comment (key: [web] ; web servers). Only "#" comments may follow a section header on the same line: write "# ..." or move the comment to its own line.',
      line: 1, key: '[web] ; web servers',
    }],
    ['unclosed quote', '[web]\nweb1 ansible_host="10.0.0.1\n', 'hosts.ini', {
      message: 'hosts.ini:2: cannot parse host line "web1 ansible_host="10.0.0.1": no closing quotation (key: web1 ansible_host="10.0.0.1). Close every quote; to put a quote in a value, wrap the value in the other kind of quote.',
      line: 2, key: 'web1 ansible_host="10.0.0.1',
    }],
    ['host var without =', '[web]\nweb1 ansible_host 10.0.0.1\n', 'hosts.ini', {
      message: 'hosts.ini:2: expected key=value host variable assignment after host "web1", got "ansible_host" (key: ansible_host). Write host variables as name=value; quote values with spaces (name="a b") and start comments with "#".',
      line: 2, key: 'ansible_host',
    }],
    ['vars line without =', '[web]\nweb1\n[web:vars]\nntp pool.ntp.org\n', 'hosts.ini', {
      message: 'hosts.ini:4: expected key=value in section [web:vars], got "ntp pool.ntp.org" (key: ntp pool.ntp.org). Write one variable per line as "name=value" (or move "ntp pool.ntp.org" to a [web] section if it is a host).',
      line: 4, key: 'ntp pool.ntp.org',
    }],
    ['vars line without a name', '[web]\nweb1\n[web:vars]\n=x\n', 'hosts.ini', {
      message: 'hosts.ini:4: the variable in "=x" has no name (key: =x). Write it as "name=value".',
      line: 4, key: '=x',
    }],
    ['host var without a name', '[web]\nweb1 =x\n', 'hosts.ini', {
      message: 'hosts.ini:2: the host variable "=x" has no name (key: =x). Write it as name=value.',
      line: 2, key: '=x',
    }],
    ['bad child group name', '[web]\nweb1\n[prod:children]\nweb extra\n', 'hosts.ini', {
      message: 'hosts.ini:4: expected a group name in section [prod:children], got "web extra" (key: web extra). List one child group name per line (hosts belong in a [prod] section).',
      line: 4, key: 'web extra',
    }],
    ['undefined child group', '[prod:children]\nweb\ndb\n[web]\nweb1\n', 'hosts.ini', {
      message: 'hosts.ini:3: section [prod:children] includes undefined group "db" (key: db). Declare the group with a [db] or [db:children] section (it may be empty).',
      line: 3, key: 'db',
    }],
    ['a host listed as a child group (Ansible rejects this too)', '[web]\nweb1\n[prod:children]\nweb1\n', 'hosts.ini', {
      message: 'hosts.ini:4: section [prod:children] includes undefined group "web1" (key: web1). "web1" is a host: list it in a [prod] section instead, or declare a group with a [web1] section.',
      line: 4, key: 'web1',
    }],
    ['vars for an undefined group', '[db:vars]\nport=5432\n[web]\nweb1\n', 'hosts.ini', {
      message: 'hosts.ini:1: section [db:vars] is for group "db", which is not defined anywhere (key: [db:vars]). Declare the group with a [db] section (it may be empty) or list it under a [parent:children] section that has its own [db] section.',
      line: 1, key: '[db:vars]',
    }],
    ['host ending in ":"', '[web]\nweb1:\n', 'hosts.ini', {
      message: 'hosts.ini:2: host "web1:" ends in ":" (key: web1:). Remove the trailing ":" (":" is only for a port, as in host:2222); if this is YAML, give the file a .yml extension.',
      line: 2, key: 'web1:',
    }],
    ['YAML in an .ini file', '---\nall:\n', 'hosts.ini', {
      message: 'hosts.ini:1: host "---" is not valid; "---" is normally a sign this is a YAML file (key: ---). Give the file a .yml or .yaml extension so it is read as YAML.',
      line: 1, key: '---',
    }],
    ['children loop', '[a:children]\nb\n[b:children]\na\n', 'hosts.ini', {
      message: 'hosts.ini:4: adding group "a" as a child of "b" creates a loop ("a" is already above "b") (key: a). Remove "a" from the children of "b" or "b" from the groups under "a".',
      line: 4, key: 'a',
    }],
    ['group child of itself', '[a:children]\na\n', 'hosts.ini', {
      message: 'hosts.ini:2: group "a" is listed as a child of itself (key: a). Remove "a" from the children of "a".',
      line: 2, key: 'a',
    }],
    ['inventory script without the executable bit', '#!/usr/bin/env python3\nprint("{}")\n', 'ec2.py', {
      message: 'ec2.py:1: this file starts with "#!" like an inventory script, but it is not executable (key: ec2.py). Make it executable (chmod +x ec2.py) to have it run with --list as Ansible runs inventory scripts, or remove the "#!" line if it is a static inventory.',
      line: 1, key: 'ec2.py',
    }],
    ['vault-encrypted inventory', '$ANSIBLE_VAULT;1.1;AES256\n3131\n', 'hosts', {
      message: 'hosts:1: this inventory file is encrypted with Ansible Vault, and no vault password was given (key: hosts). Pass the vault password with --vault-password-file FILE, --vault-id LABEL@FILE (or LABEL@prompt) or --ask-vault-pass.',
      line: 1, key: 'hosts',
    }],
  ];
  for (const [name, text, file, expected] of cases) {
    await t.test(name, (t) => expectLoadError(t, { [file]: text }, file, expected));
  }
});

t.test('group_vars / host_vars errors', async (t) => {
  const ini = '[web]\nweb1\n';
  await t.test('syntax error', (t) =>
    expectLoadError(t, { 'hosts.ini': ini, group_vars: { 'web.yml': 'a: [1\n' } }, 'hosts.ini', {
      message: 'group_vars/web.yml:2: vars file is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]. Fix the YAML at that line (check the indentation, the ":" after keys and the quoting).',
      line: 2,
    }),
  );
  await t.test('not a mapping', (t) =>
    expectLoadError(t, { 'hosts.ini': ini, host_vars: { 'web1.yml': '- a\n- b\n' } }, 'hosts.ini', {
      message: 'host_vars/web1.yml:1: a vars file must be a mapping of variable names to values, found a list (key: web1.yml). Write one "name: value" per line at the top level of the file.',
      line: 1,
      key: 'web1.yml',
    }),
  );
  await t.test('key not a string, in a group_vars directory', (t) =>
    expectLoadError(t, { 'hosts.ini': ini, group_vars: { web: { 'main.yml': 'a: 1\n5: x\n' } } }, 'hosts.ini', {
      message: 'group_vars/web/main.yml:2: variable name 5 in this vars file is not a string but a number (key: 5). Variable names must be strings: quote the name or rename it.',
      line: 2,
      key: '5',
    }),
  );
  await t.test('vault-encrypted file', (t) =>
    expectLoadError(t, { 'hosts.ini': ini, group_vars: { 'all.yml': '$ANSIBLE_VAULT;1.1;AES256\n3131\n' } }, 'hosts.ini', {
      message: 'group_vars/all.yml:1: this vars file is encrypted with Ansible Vault, and no vault password was given (key: all.yml). Pass the vault password with --vault-password-file FILE, --vault-id LABEL@FILE (or LABEL@prompt) or --ask-vault-pass.',
      line: 1,
      key: 'all.yml',
    }),
  );
  await t.test('unreadable entry (symlink loop)', async (t) => {
    const dir = t.testdir({ 'hosts.ini': ini, group_vars: { web: {} } });
    fs.symlinkSync('loop.yml', path.join(dir, 'group_vars/web/loop.yml'));
    const err = await loadInventory(path.join(dir, 'hosts.ini'), { onWarning: () => {} }).catch((e: InventoryError) => e);
    t.type(err, InventoryError);
    t.equal(
      (err as InventoryError).message.split(`${dir}${path.sep}`).join(''),
      'group_vars/web/loop.yml: cannot read vars path: ELOOP (key: loop.yml). Fix or remove it (check that it is not a broken or looping symlink and that this user may read it).',
    );
    t.equal((err as InventoryError).key, 'loop.yml');
  });
});

t.test('inventory path errors', async (t) => {
  const dir = t.testdir({});
  const err = (await loadInventory(path.join(dir, 'nope.ini')).catch((e) => e)) as InventoryError;
  t.equal(err.message, `${path.join(dir, 'nope.ini')}: inventory not found. Pass an existing inventory file or directory with -i (e.g. -i inventory/hosts.yml).`);
  t.equal(err.file, path.join(dir, 'nope.ini'));
});

t.test('extra vars errors', async (t) => {
  const dir = t.testdir({ 'list.yml': '- a\n' });
  const cases: Array<[string[], string, string | undefined]> = [
    [['foo'], '-e: "foo" is not a key=value pair (key: foo). Pass variables as -e name=value (several separated by spaces), as JSON/YAML (-e \'{"name": "value"}\') or as a file (-e @vars.yml).', 'foo'],
    [['a=1 oops'], '-e: "oops" is not a key=value pair (key: oops). Pass variables as -e name=value (several separated by spaces), as JSON/YAML (-e \'{"name": "value"}\') or as a file (-e @vars.yml).', 'oops'],
    [['./vars.yml'], '-e: "./vars.yml" looks like a file name (key: ./vars.yml). Prepend the file name with "@": -e @./vars.yml.', './vars.yml'],
    [['@missing.yml'], `missing.yml: extra vars file not found (key: @missing.yml). Check the path (relative paths are taken from ${dir}).`, '@missing.yml'],
    [['@'], '-e: "-e @" needs a file name (key: @). Write -e @vars.yml.', '@'],
    [['@list.yml'], 'list.yml:1: a vars file must be a mapping of variable names to values, found a list (key: list.yml). Write one "name: value" per line at the top level of the file.', 'list.yml'],
    [['[1,2]'], '-e: extra vars must be a mapping (object), found a list (key: [1,2]). Pass an object such as -e \'{"name": "value"}\'.', '[1,2]'],
    [['{"a": 1'], '-e:1: extra vars is not valid YAML: Flow map must end with a }. Fix the YAML at that line (check the indentation, the ":" after keys and the quoting).', undefined],
    [['a="b'], '-e: unbalanced quote (") in extra vars "a="b" (key: a="b). Close the quote or the block; quote the whole -e argument for the shell, e.g. -e \'msg="a b"\'.', 'a="b'],
    [['msg={{ x'], '-e: unclosed "{{" / "{%" block in extra vars "msg={{ x" (key: msg={{ x). Close the quote or the block; quote the whole -e argument for the shell, e.g. -e \'msg="a b"\'.', 'msg={{ x'],
  ];
  for (const [args, message, key] of cases) {
    await t.rejects(parseExtraVars(args, dir), { name: 'InventoryError', message, key }, args.join(' '));
  }
});

t.test('invalid regular expression in a host pattern', async (t) => {
  const inv = { hosts: new Map(), groups: new Map(), source: 'x' };
  t.throws(() => selectHosts(inv, '~web('), {
    name: 'InventoryError',
    message: /^host pattern: invalid regular expression: .*\(key: ~web\(\)\. Fix the expression after "~" \(it is a regular expression matched from the start of each name\)\.$/,
    key: '~web(',
  });
});
