// Format details: ranges, host:port, INI value conversion and quoting, YAML 1.1 details,
// implicit groups, warnings, extra vars.
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadInventory, parseExtraVars } from '../src/inventory/index.js';
import { parsePythonLiteral } from '../src/inventory/pyliteral.js';
import { expandHostPattern, expandHostRange, splitPort } from '../src/inventory/ranges.js';
import { shlexSplit } from '../src/inventory/shlex.js';

type Files = Parameters<Test['testdir']>[0];
const load = async (t: Test, files: Files, entry: string) => {
  const dir = t.testdir(files);
  const warnings: string[] = [];
  const inv = await loadInventory(path.join(dir, entry), { onWarning: (m) => void warnings.push(m.split(`${dir}${path.sep}`).join('')) });
  return { inv, warnings, dir };
};

t.test('host ranges', async (t) => {
  t.same(expandHostRange('srv[01:03]'), ['srv01', 'srv02', 'srv03'], 'zero padding kept');
  t.same(expandHostRange('srv[8:11]'), ['srv8', 'srv9', 'srv10', 'srv11']);
  t.same(expandHostRange('srv[1:10:4]'), ['srv1', 'srv5', 'srv9'], 'step');
  t.same(expandHostRange('n[a:c].lab'), ['na.lab', 'nb.lab', 'nc.lab'], 'letters, with a tail');
  t.same(expandHostRange('n[a:e:2]'), ['na', 'nc', 'ne']);
  t.same(expandHostRange('r[1:2]-n[a:b]'), ['r1-na', 'r1-nb', 'r2-na', 'r2-nb'], 'several ranges');
  t.same(expandHostRange('x[:2]'), ['x0', 'x1', 'x2'], 'empty begin is 0');
  t.same(expandHostRange('x[3:3]'), ['x3']);
  t.same(expandHostRange('10.0.0.[1:3]'), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
});

t.test('host:port', async (t) => {
  t.same(splitPort('web1:2222'), { host: 'web1', port: 2222 });
  t.same(splitPort('10.0.0.1:22'), { host: '10.0.0.1', port: 22 });
  t.same(splitPort('[fe80::1]:22'), { host: 'fe80::1', port: 22 });
  t.same(splitPort('fe80::1'), { host: 'fe80::1' }, 'bare IPv6 has no port');
  t.same(splitPort('web[01:03]:2222'), { host: 'web[01:03]', port: 2222 });
  t.same(splitPort('web[01:03]'), { host: 'web[01:03]' });
  t.same(expandHostPattern('db[1:2].lab:5432'), { hosts: ['db1.lab', 'db2.lab'], port: 5432 });
});

t.test('INI values are Python literals, as Ansible evaluates them', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['22', 22],
    ['-5', -5],
    ['0x1F', 31],
    ['1_000', 1000],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['True', true],
    ['False', false],
    ['None', null],
    ['true', 'true'],
    ['yes', 'yes'],
    ['0644', '0644'],
    ['10.0.0.1', '10.0.0.1'],
    ["'abc'", 'abc'],
    ['"a b"', 'a b'],
    ["'a' \"b\"", 'ab'],
    ['"a\\nb"', 'a\nb'],
    ['r"a\\nb"', 'a\\nb'],
    ["'\\x41\\u00e9'", 'Aé'],
    ["'unterminated", "'unterminated"],
    ['[1, "a", True]', [1, 'a', true]],
    ['(1, 2)', [1, 2]],
    ['80, 443', [80, 443]],
    ['{"a": 1, "b": [2]}', { a: 1, b: [2] }],
    ['{1, 2, 2}', [1, 2]],
    ['foo bar', 'foo bar'],
    ['3 # comment', 3],
    ['abc#def', 'abc#def'],
    ['--5', '--5'],
    ['-True', '-True'],
    ['1abc', '1abc'],
    ["f'x'", "f'x'"],
    ['9007199254740993', '9007199254740993'],
    ['', ''],
  ];
  for (const [src, expected] of cases) t.same(parsePythonLiteral(src), expected, JSON.stringify(src));
});

t.test('INI host lines split like a POSIX shell (shlex)', async (t) => {
  t.same(shlexSplit('a b#c d'), ['a', 'b'], '# starts a comment, even inside a word');
  t.same(shlexSplit(`x="a b" y='c d'`), ['x=a b', 'y=c d']);
  t.same(shlexSplit('p="a\\"b\\n"'), ['p=a"b\\n'], 'in double quotes only \\" and \\\\ escape');
  t.same(shlexSplit('q=a\\ b'), ['q=a b']);
  t.same(shlexSplit(`m="'03#pa'"`), ["m='03#pa'"]);
  t.same(shlexSplit("e=''"), ['e=']);
  t.same(shlexSplit('h ; c'), ['h', ';', 'c'], '";" is not a comment on a host line');
  t.throws(() => shlexSplit('x="open'), { message: 'No closing quotation' });
});

t.test('INI details', async (t) => {
  const text = [
    '\uFEFF# BOM, CRLF line ends, comments',
    'h0',
    '; comment',
    '[all]',
    'h1',
    '[web-servers]',
    'h0',
    'h2 a="x y" b=\'1\' c=-1 d=[1,2] e={\'k\':\'v\'} f=None g="{\'k\': \'v\'}"',
    '[web-servers:vars]',
    'spaced = "quoted value"',
    'raw = some text # not a comment for a non-literal',
    'empty =',
    'lit = 5 # a comment after a literal',
  ].join('\r\n');
  const { inv, warnings } = await load(t, { hosts: text }, 'hosts');
  t.same([...inv.hosts.keys()], ['h0', 'h1', 'h2']);
  t.same(inv.groups.get('ungrouped')!.hosts, ['h1'], 'h0 moved out of ungrouped (it is in web-servers); h1 from [all] is ungrouped');
  t.same(inv.hosts.get('h0')!.groups, ['all', 'web-servers']);
  t.same(inv.groups.get('all')!.hosts, ['h1']);
  const v = inv.hosts.get('h2')!.vars;
  t.equal(v.a, 'x y');
  t.equal(v.b, 1, "b='1' reaches literal_eval as 1");
  t.equal(v.c, -1);
  t.same(v.d, [1, 2]);
  t.equal(v.e, '{k:v}', 'the shell quotes are gone before literal_eval, so this is text (as in Ansible)');
  t.same(v.g, { k: 'v' }, 'quoted for the shell, the dict literal survives');
  t.equal(v.f, null);
  t.equal(v.spaced, 'quoted value');
  t.equal(v.raw, 'some text # not a comment for a non-literal');
  t.equal(v.empty, '');
  t.equal(v.lit, 5);
  t.same(warnings, ['Invalid characters were found in group names but not replaced: web-servers (Ansible warns about these too; group names should use only letters, digits and "_")']);
});

t.test('INI: children declared before their groups, port only where first defined', async (t) => {
  const text = ['[prod:children]', 'web', '[web]', 'h1:2222', '[db]', 'h1:2200', 'h2'].join('\n');
  const { inv, warnings } = await load(t, { 'hosts.ini': text }, 'hosts.ini');
  t.same(inv.groups.get('prod')!.children, ['web']);
  t.equal(inv.hosts.get('h1')!.vars.ansible_port, 2222);
  t.same(warnings, ['hosts.ini:6: port 2200 for host "h1" is ignored because the host was already defined earlier; set ansible_port where the host first appears']);
});

t.test('YAML details', async (t) => {
  const text = [
    'defaults: &defaults',
    '  hosts:',
    '    d1:',
    'all:',
    '  vars:',
    '    mode: 0644',
    '    on_off: on',
    '    date: 2024-01-02',
    '    unsafe: !unsafe "{{ not a template }}"',
    '    dup: first',
    '    dup: second',
    '  hosts: solo',
    '  children:',
    '    web:',
    '      hosts:',
    '        w1: &w1vars',
    '          port: 1',
    '          tag: a',
    '        w2:',
    '          <<: *w1vars',
    '          tag: b',
    '        w3: *w1vars',
    '    db: ~',
    '    misc:',
    '      hosts:',
    '      children: web',
    '      hostz:',
    '        x1:',
    'scalar_group: 5',
  ].join('\n');
  const { inv, warnings } = await load(t, { 'inv.yaml': text }, 'inv.yaml');
  t.same([...inv.hosts.keys()], ['d1', 'solo', 'w1', 'w2', 'w3']);
  t.same([...inv.groups.keys()], ['all', 'ungrouped', 'defaults', 'web', 'db', 'misc']);
  const v = inv.hosts.get('solo')!.vars;
  t.equal(v.mode, 420, 'YAML 1.1: 0644 is octal, as PyYAML reads it');
  t.equal(v.on_off, true);
  t.equal(v.date, '2024-01-02', 'dates stay text');
  t.equal(v.unsafe, '{{ not a template }}');
  t.equal(v.dup, 'second', 'duplicate keys: last wins');
  t.same(inv.hosts.get('w2')!.vars.port, 1, 'merge keys');
  t.same(inv.hosts.get('w2')!.vars.tag, 'b');
  t.same(inv.hosts.get('w3')!.vars.tag, 'a', 'aliases');
  t.same(inv.groups.get('misc')!.children, ['web'], 'a section may be a single name');
  t.same(inv.groups.get('ungrouped')!.hosts, ['solo']);
  t.same(inv.groups.get('all')!.children, ['ungrouped', 'web', 'db', 'misc', 'defaults'], 'top-level groups outside all: join all at the end');
  t.same(warnings, [
    'inv.yaml:11: found a duplicate dict key (dup). Using last defined value only.',
    'inv.yaml:27: skipping unexpected key (hostz) in group (misc), only "vars", "children" and "hosts" are valid',
    'inv.yaml:29: skipping "scalar_group" as this is not a valid group definition (found a number, expected a mapping with hosts/vars/children)',
  ]);
});

t.test('empty and comment-only files', async (t) => {
  const y = await load(t, { 'hosts.yml': '# nothing yet\n' }, 'hosts.yml');
  t.equal(y.inv.hosts.size, 0);
  t.same(y.warnings, ['hosts.yml: the YAML inventory is empty; it defines no hosts']);
  const i = await load(t, { 'hosts.ini': '; nothing\n' }, 'hosts.ini');
  t.same([...i.inv.groups.keys()], ['all', 'ungrouped']);
  t.same(i.warnings, []);
});

t.test('group_vars that is a file is skipped with a warning', async (t) => {
  const { inv, warnings } = await load(t, { 'hosts.ini': 'h1\n', group_vars: 'oops' }, 'hosts.ini');
  t.equal(inv.hosts.size, 1);
  t.equal(warnings.length, 1);
  t.match(warnings[0], /^Found group_vars that is not a directory, skipping: .*group_vars$/);
});

t.test('warnings go to stderr by default', async (t) => {
  const dir = t.testdir({ 'hosts.yml': 'all:\n  hostz:\n' });
  const written: string[] = [];
  const orig = process.stderr.write;
  process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    await loadInventory(path.join(dir, 'hosts.yml'));
  } finally {
    process.stderr.write = orig;
  }
  t.same(written, [`[WARNING]: ${path.join(dir, 'hosts.yml')}:2: skipping unexpected key (hostz) in group (all), only "vars", "children" and "hosts" are valid\n`]);
});

t.test('parseExtraVars', async (t) => {
  const dir = t.testdir({
    'vars.yml': 'from_file: yes\nshared: yml\nlist: [1, 2]\n',
    'vars.json': '{"shared": "json", "n": 5}',
    sub: { 'v.yml': 'rel: ok\n' },
  });
  t.same(await parseExtraVars(['a=1 b="two words"  c=\'x=y\''], dir), { a: '1', b: 'two words', c: 'x=y' }, 'several pairs in one argument; values are strings');
  t.same(await parseExtraVars(['msg="{{ greeting }} world" path=/srv/smb'], dir), { msg: '{{ greeting }} world', path: '/srv/smb' });
  t.same(await parseExtraVars(['tpl={{ a | default("b c") }}'], dir), { tpl: '{{ a | default("b c") }}' }, 'no split inside {{ }}');
  t.same(await parseExtraVars(['nl=a\\nb'], dir), { nl: 'a\nb' }, 'escape sequences are decoded');
  t.same(await parseExtraVars(['eq=a=b'], dir), { eq: 'a=b' }, 'split at the first "="');
  t.same(await parseExtraVars(['k\\=x=v'], dir), { 'k\\=x': 'v' }, 'an escaped "=" does not split (Ansible keeps the backslash)');
  t.same(await parseExtraVars(['{"json": 1, "nested": {"a": [true]}}'], dir), { json: 1, nested: { a: [true] } });
  t.same(await parseExtraVars(['{yaml: yes, port: 0644}'], dir), { yaml: true, port: 420 }, 'YAML 1.1 like Ansible');
  t.same(await parseExtraVars(['@vars.yml'], dir), { from_file: true, shared: 'yml', list: [1, 2] });
  t.same(await parseExtraVars(['@vars.yml', '@vars.json', 'n=6'], dir), { from_file: true, shared: 'json', list: [1, 2], n: '6' }, 'later arguments win');
  t.same(await parseExtraVars(['@sub/v.yml'], dir), { rel: 'ok' }, 'relative to cwd');
  t.same(await parseExtraVars([`@${path.join(dir, 'vars.json')}`], '/'), { shared: 'json', n: 5 }, 'absolute path');
  t.same(await parseExtraVars([], dir), {});
  t.same(await parseExtraVars([''], dir), {}, 'empty arguments are skipped');
});
