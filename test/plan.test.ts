import t from 'tap';
import { planPlay } from '../src/engine/plan.js';
import type { Facts, Task } from '../src/types.js';

const facts = (files: Facts['files'] = {}): Facts => ({ system: {}, files, probes: {} });
const writeTask = (path: string, content: string, extra: object = {}): Task => ({
  name: `write ${path}`,
  plan: () => ({ status: 'change', changes: [{ kind: 'file', path, content, ...extra }] }),
});

t.test('a file already as wanted is ok, not changed', async (t) => {
  const [p] = planPlay([writeTask('/etc/x', 'a\n', { mode: '0644' })], facts({ '/etc/x': { path: '/etc/x', exists: true, content: 'a\n', mode: '0644' } }), {}, 'h', false);
  t.equal(p!.status, 'ok');
  t.same(p!.changes, []);
});

t.test('different content is a change with a unified diff', async (t) => {
  const [p] = planPlay([writeTask('/etc/x', 'b\n')], facts({ '/etc/x': { path: '/etc/x', exists: true, content: 'a\n' } }), {}, 'h', false);
  t.equal(p!.status, 'change');
  t.match(p!.diffs[0], /-a\n\+b/);
});

t.test('without --diff no diff is made; the change is the same', async (t) => {
  const now = facts({ '/etc/x': { path: '/etc/x', exists: true, content: 'a\n' } });
  const [with_] = planPlay([writeTask('/etc/x', 'b\n')], now, {}, 'h', false, true);
  const [without] = planPlay([writeTask('/etc/x', 'b\n')], now, {}, 'h', false, false);
  t.equal(with_!.diffs.length, 1);
  t.same(without!.diffs, []);
  t.same(without!.changes, with_!.changes);
  t.equal(without!.status, 'change');
});

t.test('only a mode difference rewrites attributes, not content', async (t) => {
  const [p] = planPlay([writeTask('/etc/x', 'a\n', { mode: '0600' })], facts({ '/etc/x': { path: '/etc/x', exists: true, content: 'a\n', mode: '0644' } }), {}, 'h', false);
  t.equal(p!.status, 'change');
  t.equal((p!.changes[0] as { attrsOnly?: boolean }).attrsOnly, true);
  t.same(p!.diffs, []);
});

t.test('later tasks see what earlier tasks will write', async (t) => {
  const reader: Task = {
    name: 'reader',
    plan: ({ facts }) => ({ status: 'ok', msg: facts.files['/etc/x']?.content ?? 'none' }),
  };
  const out = planPlay([writeTask('/etc/x', 'fresh\n'), reader], facts({ '/etc/x': { path: '/etc/x', exists: false } }), {}, 'h', false);
  t.equal(out[1]!.msg, 'fresh\n');
});

t.test('sensitive content never appears in a diff', async (t) => {
  const [p] = planPlay([writeTask('/etc/cred', 'password=hunter2\n', { sensitive: true })], facts({ '/etc/cred': { path: '/etc/cred', exists: true, content: 'password=old\n' } }), {}, 'h', false);
  t.notMatch(p!.diffs.join(''), /hunter2|old/);
  t.match(p!.diffs.join(''), /content hidden/);
});

t.test('a throwing plan becomes a failed task; absent on a missing file is ok', async (t) => {
  const boom: Task = { name: 'boom', plan: () => { throw new Error('bad var x'); } };
  const gone: Task = { name: 'gone', plan: () => ({ status: 'change', changes: [{ kind: 'absent', path: '/nope' }] }) };
  const out = planPlay([boom, gone], facts({ '/nope': { path: '/nope', exists: false } }), {}, 'h', false);
  t.same([out[0]!.status, out[0]!.msg], ['fail', 'bad var x']);
  t.equal(out[1]!.status, 'ok');
});

t.test('a task that writes a path it did not read fails with a clear message', async (t) => {
  const [p] = planPlay([writeTask('/etc/unread', 'x\n')], facts(), {}, 'h', false);
  t.equal(p!.status, 'fail');
  t.match(p!.msg, /manages \/etc\/unread but does not list it in reads\(\)/);
});
