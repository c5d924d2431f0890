// --limit checked as Ansible checks it: each part that matches nothing is warned about, and a limit
// that leaves no host is an error (exit 1) before any host is contacted. The hosts are in a host
// list inventory at addresses nothing listens on: a run that tried to connect would say so.
import t from 'tap';
import { runCli } from './helpers/lab.js';

const INV = 'srv01,cli01,cli02,';

t.test('a --limit that matches no host: exit 1, the pattern and the hosts named, nobody contacted', async (t) => {
  for (const [cmd, tail] of [[['run', 'site'], []], [['facts'], []], [['exec', 'all'], ['--', 'true']]]) {
    const r = await runCli([...cmd!, '-i', INV, '--limit', 'srv1', '-T', '1', ...tail!]);
    t.equal(r.code, 1, `${cmd![0]}: exit 1`);
    t.match(r.stderr, /\[WARNING\]: Could not match supplied host pattern, ignoring: srv1\n/, `${cmd![0]}: the part that matched nothing`);
    t.match(r.stderr, /ERROR! --limit "srv1" leaves no host to target in srv01,cli01,cli02, \(its hosts: srv01, cli01, cli02\)/, `${cmd![0]}: which limit, which inventory, which hosts`);
    t.notMatch(r.stdout + r.stderr, /UNREACHABLE|unreachable|PLAY/, `${cmd![0]}: no play, no connection`);
  }
});

t.test('a --limit with one part that matches nothing: warned, the rest runs', async (t) => {
  // cli01 is unreachable (nothing listens on port 1 of this machine): it is tried and reported, exit 4.
  const r = await runCli(['exec', 'all', '-i', INV, '--limit', 'cli01:nosuch:!cli03', '-T', '1', '-e', 'ansible_host=127.0.0.1', '-e', 'ansible_port=1', '--', 'true']);
  t.match(r.stderr, /ignoring: nosuch\n/);
  t.match(r.stderr, /ignoring: cli03\n/, 'an exclusion that matches nothing is warned about too');
  t.notMatch(r.stderr, /ignoring: cli01/);
  t.equal(r.code, 4, 'the limited host was tried: unreachable');
  t.match(r.stdout, /^cli01 \| UNREACHABLE!/m);
  t.notMatch(r.stdout, /cli02|srv01/);
});
