import path from 'node:path';
import t from 'tap';
import { loadInventory, selectHosts } from '../src/inventory/index.js';
import { globToRegExp, splitHostPattern } from '../src/inventory/patterns.js';

const YAML_INV = `
all:
  hosts:
    lonely:
  children:
    web:
      hosts:
        web1:
        web2:
        web3:
    db:
      hosts:
        db1:
        db2:
    prod:
      hosts:
        mon1:
      children:
        web:
        db:
    staging:
      hosts:
        web3:
        stg-db1:
        10.0.0.7:
        "fe80::1":
    both:
      hosts:
        both:
        db2:
`;

t.test('host patterns', async (t) => {
  const dir = t.testdir({ 'hosts.yml': YAML_INV });
  const warnings: string[] = [];
  const inv = await loadInventory(path.join(dir, 'hosts.yml'), { onWarning: (m) => void warnings.push(m) });
  t.same(warnings, ['Found both group and host with same name: both']);
  const everyone = ['lonely', 'web1', 'web2', 'web3', 'db1', 'db2', 'mon1', 'stg-db1', '10.0.0.7', 'fe80::1', 'both'];
  t.same([...inv.hosts.keys()], everyone);

  const cases: Array<[string, string[], string?]> = [
    ['all', everyone],
    ['*', everyone],
    ['web1', ['web1'], 'a host'],
    ['web', ['web1', 'web2', 'web3'], 'a group'],
    ['prod', ['web1', 'web2', 'web3', 'db1', 'db2', 'mon1'], 'a group with children, in inventory order'],
    ['ungrouped', ['lonely']],
    ['web*', ['web1', 'web2', 'web3'], 'glob over groups and hosts'],
    ['*db*', ['db1', 'db2', 'stg-db1']],
    ['web?', ['web1', 'web2', 'web3']],
    ['web[!1]', ['web2', 'web3'], 'fnmatch [!seq]'],
    ['~web[12]', ['web1', 'web2'], 'regex'],
    ['~db', ['db1', 'db2'], 'regex matched from the start, as Python re.match'],
    ['~(web|db)\\d$', ['web1', 'web2', 'web3', 'db1', 'db2']],
    ['web:db', ['web1', 'web2', 'web3', 'db1', 'db2'], 'union with ":"'],
    ['web,db', ['web1', 'web2', 'web3', 'db1', 'db2'], 'union with ","'],
    ['db,web', ['web1', 'web2', 'web3', 'db1', 'db2'], 'results are in inventory order'],
    [' web , db ', ['web1', 'web2', 'web3', 'db1', 'db2'], 'spaces ignored'],
    ['web1:web1:web', ['web1', 'web2', 'web3'], 'no duplicates'],
    ['prod:&staging', ['web3'], 'intersection'],
    ['web:&db', []],
    ['prod:!web', ['db1', 'db2', 'mon1'], 'exclusion'],
    ['!web:prod', ['db1', 'db2', 'mon1'], 'exclusions apply after unions wherever they are written'],
    ['!web', ['lonely', 'db1', 'db2', 'mon1', 'stg-db1', '10.0.0.7', 'fe80::1', 'both'], 'only exclusions: from all'],
    ['&staging', ['web3', 'stg-db1', '10.0.0.7', 'fe80::1'], 'only an intersection: with all'],
    ['prod:&web*:!web2', ['web1', 'web3']],
    ['web[0]', ['web1'], 'subscript'],
    ['web[-1]', ['web3'], 'negative subscript'],
    ['web[1:]', ['web2', 'web3'], 'open-ended slice'],
    ['web[0:1]', ['web1', 'web2'], 'inclusive slice'],
    ['web[5]', [], 'out of range'],
    ['prod[0]', ['mon1'], "a group's own hosts come before its children's"],
    ['prod[1:2]', ['web1', 'web2']],
    ['web*[0]', ['web1']],
    ['10.0.0.7', ['10.0.0.7'], 'an IPv4 host'],
    ['fe80::1', ['fe80::1'], 'an IPv6 host is not split on ":"'],
    ['both', ['both'], 'a host wins over a group of the same name'],
    ['nothing', [], 'unknown patterns match nothing'],
    ['nothing:web1', ['web1']],
    ['~^nothing$', []],
    ['', []],
  ];
  for (const [pattern, expected, why] of cases) t.same(selectHosts(inv, pattern), expected, `${JSON.stringify(pattern)}${why ? `: ${why}` : ''}`);
});

t.test('splitHostPattern', async (t) => {
  t.same(splitHostPattern('a,b[1], c[2:3] , d'), ['a', 'b[1]', 'c[2:3]', 'd']);
  t.same(splitHostPattern('web:&db:!web1'), ['web', '&db', '!web1']);
  t.same(splitHostPattern('web[0:2]'), ['web[0:2]']);
  t.same(splitHostPattern('web[0:2]:db'), ['web[0:2]', 'db']);
  t.same(splitHostPattern('fe80::1'), ['fe80::1']);
  t.same(splitHostPattern('[fe80::1]:22'), ['[fe80::1]:22']);
  t.same(splitHostPattern('10.0.0.1'), ['10.0.0.1']);
});

t.test('globToRegExp follows fnmatch', async (t) => {
  t.ok(globToRegExp('web*').test('web-01'));
  t.notOk(globToRegExp('web*').test('xweb'));
  t.ok(globToRegExp('w?b').test('wab'));
  t.ok(globToRegExp('db[0-9]').test('db7'));
  t.notOk(globToRegExp('db[!0-9]').test('db7'));
  t.ok(globToRegExp('a.b').test('a.b'));
  t.notOk(globToRegExp('a.b').test('axb'), 'dots are literal');
  t.ok(globToRegExp('a[').test('a['), 'an unclosed [ is literal');
  t.notOk(globToRegExp('Web').test('web'), 'case-sensitive');
});
