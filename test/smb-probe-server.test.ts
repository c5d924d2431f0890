// src/smb/probe-server.ts: the server side of the probe read back. The collect fixture has the
// sampler's lines in the form src/smb/probe-sampler.ts prints them (checked for real in
// test/smb-probe-sampler.test.ts), with round numbers so the sums can be checked by hand.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { overlapNote, parseSampler, serverMeasures, serverProbeTable, startVerdict } from '../src/smb/probe-server.js';

const fx = readFileSync(new URL('fixtures/probe/sampler-collect.txt', import.meta.url), 'utf8');

t.test('start: started, checked, refused, cut short', async (t) => {
  t.same(startVerdict('sampler 1 run\nshare /srv/a\nmissing /srv/b\nstarted 4242 308\n', 0), { ok: true, started: { pid: 4242, idleS: 308 }, shares: ['/srv/a'], missing: ['/srv/b'] });
  t.same(startVerdict('sampler 1 check\nshare /srv/my share\nchecked\n', 0), { ok: true, shares: ['/srv/my share'], missing: [] });
  t.same(startVerdict('sampler 1 run\nmissing /srv/a\nfail no-share\n', 3), { ok: false, why: 'none of the share directories exists (/srv/a): run the server playbook first' });
  t.match(startVerdict('sampler 1 run\nshare /srv/a\nfail no-setsid\n', 3), { ok: false, why: /setsid is not installed/ });
  t.match(startVerdict('sampler 1 run\nshare /srv/a\nfail busy 77\n', 3), { ok: false, why: /still running \(PID 77\)/ });
  t.same(startVerdict('sampler 1 run\n', 124), { ok: false, why: 'the start probe hit its time limit' });
  t.same(startVerdict('', 127), { ok: false, why: 'the start probe did not finish (exit 127)' });
});

t.test('collect: per phase, busy jiffies over HZ; the ksmbd threads alive at the end, new ones from 0', async (t) => {
  const o = parseSampler(fx);
  t.same([o.none, o.hz, o.marks.length, o.end, o.cleanup], [false, 100, 8, 'stopped', 'ok']);
  const [m] = serverMeasures('srv1', o);
  t.same(m, {
    server: 'srv1', id: '3f9a0c11d2e4', client: 'cli01', path: '/mnt/data',
    phases: {
      // (1030+10+2040+5+60) - (1000+10+2000+5+50) = 80 jiffies; ksmbd 1 + 30
      'rdma write': { cpuSeconds: 0.8, ksmbdSeconds: 0.31 },
      'rdma read': { cpuSeconds: 0.6, ksmbdSeconds: 0.2 },
      // thread 977 appeared during tcp write (a new connection): all its 60 ticks count
      'tcp write': { cpuSeconds: 1.66, ksmbdSeconds: 0.61 },
      'tcp read': { cpuSeconds: 1.29, ksmbdSeconds: 0.4 },
    },
    rdma: { cpuSeconds: 1.4, ksmbdSeconds: 0.51 },
    tcp: { cpuSeconds: 2.95, ksmbdSeconds: 1.01 },
    concurrent: 1,
  });
});

t.test('collect: none, an end without its start, bad lines, a thread that ended, no ksmbd', async (t) => {
  t.same(parseSampler('collect 1\nnone\n').none, true);
  const o = parseSampler([
    'collect 1', 'out', '| begin 250',
    '| mark aa tcp-read end 1 1 1 1 1 ksmbd', '| mark zz!! rdma-write start 1 1 1 1 1 ksmbd', '| mark aa nonsense start 1 1 1 1 1 ksmbd',
    '| mark bb rdma-write start 100 0 0 0 0 ksmbd 5:10', '| mark bb rdma-write end 350 0 0 0 0 ksmbd',
    'killed 99', 'cleanup left /run/smbdirect-probe-sampler',
  ].join('\n'));
  t.same([o.hz, o.marks.length, o.end, o.cleanup], [250, 3, 'killed', '/run/smbdirect-probe-sampler']);
  t.equal(parseSampler('out\n| idle\n').end, 'idle');
  const m = serverMeasures('s', o);
  t.same(m.map((x) => [x.id, Object.keys(x.phases), x.rdma, x.tcp]), [['aa', [], undefined, undefined], ['bb', ['rdma write'], undefined, undefined]]);
  t.same(m[1]!.phases['rdma write'], { cpuSeconds: 1 }, 'no ksmbd thread at the end: no ksmbd figure');
});

t.test('overlap: probes whose marks interleave are counted together; one after another are not', async (t) => {
  const mark = (id: string, ph: string, e: string, n: number) => `| mark ${id} ${ph} ${e} ${n} 0 0 0 0 ksmbd`;
  const o = parseSampler(['out', mark('a1', 'rdma-write', 'start', 0), mark('b2', 'rdma-write', 'start', 10), mark('a1', 'rdma-write', 'end', 20),
    mark('b2', 'rdma-write', 'end', 30), mark('c3', 'rdma-write', 'start', 40), mark('c3', 'rdma-write', 'end', 50)].join('\n'));
  const m = serverMeasures('s', o);
  t.same(m.map((x) => [x.id, x.concurrent]), [['a1', 2], ['b2', 2], ['c3', 1]]);
  t.equal(overlapNote(m), 'server CPU is host-wide: 2 clients probed at once (--forks 1 measures one at a time)');
  t.equal(overlapNote(m.slice(2)), undefined);
  t.equal(overlapNote([]), undefined);
});

t.test('the table: a row per client probe, "-" where not seen', async (t) => {
  const m = serverMeasures('srv1', parseSampler(fx));
  const other = { server: 'srv1', id: 'bb', phases: {}, concurrent: 2 };
  t.equal(serverProbeTable([...m, other]), [
    'client  mount      probe id      server CPU s RDMA/TCP  ksmbd threads s RDMA/TCP  probes at once',
    'cli01   /mnt/data  3f9a0c11d2e4  1.40/2.95              0.51/1.01                 1',
    '-       -          bb            -/-                    -/-                       2',
    "(server CPU: the whole host's busy time between the client's phase markers, write + read)",
  ].join('\n'));
});
