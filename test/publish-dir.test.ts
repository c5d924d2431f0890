// publishDir: a finished build goes in place under its final name, and a complete one already
// there (another process's build of the same cache, maybe in use) is never removed for it.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishDir } from '../src/publish-dir.js';

const complete = (d: string): boolean => existsSync(join(d, '.complete'));
function build(dir: string, label: string, done = true): string {
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  writeFileSync(join(dir, 'usr/bin/hostname'), label);
  if (done) writeFileSync(join(dir, '.complete'), label);
  return dir;
}

t.test('nothing under the final name: the build is put there', async (t) => {
  const d = t.testdir();
  const final = join(d, 'rootfs');
  t.equal(await publishDir(build(join(d, 'tmp-1'), 'one'), final, complete), true);
  t.equal(readFileSync(join(final, 'usr/bin/hostname'), 'utf8'), 'one');
  t.notOk(existsSync(join(d, 'tmp-1')), 'the temp dir is gone (renamed)');
});

t.test('a complete one there already (another build finished first): kept, ours dropped', async (t) => {
  const d = t.testdir();
  const final = join(d, 'rootfs');
  await publishDir(build(join(d, 'tmp-1'), 'first'), final, complete);
  const inUse = statSync(join(final, 'usr/bin/hostname')).ino;
  t.equal(await publishDir(build(join(d, 'tmp-2'), 'second'), final, complete), false);
  t.equal(readFileSync(join(final, 'usr/bin/hostname'), 'utf8'), 'first', 'the first build is still there');
  t.equal(statSync(join(final, 'usr/bin/hostname')).ino, inUse, 'the very same file: nothing in use was replaced');
  t.notOk(existsSync(join(d, 'tmp-2')), 'the second build is removed');
});

t.test('an incomplete dir under the final name (no build made it): replaced', async (t) => {
  const d = t.testdir();
  const final = build(join(d, 'rootfs'), 'half', false);
  t.equal(await publishDir(build(join(d, 'tmp-1'), 'whole'), final, complete), true);
  t.equal(readFileSync(join(final, '.complete'), 'utf8'), 'whole');
});

t.test('two builds finishing at once: one is used whole, the other dropped, no file lost', async (t) => {
  const d = t.testdir();
  const final = join(d, 'rootfs');
  const results = await Promise.all(['a', 'b', 'c'].map((l) => publishDir(build(join(d, `tmp-${l}`), l), final, complete)));
  t.same(results.filter(Boolean).length, 1, 'exactly one build put in place');
  const label = readFileSync(join(final, '.complete'), 'utf8');
  t.equal(readFileSync(join(final, 'usr/bin/hostname'), 'utf8'), label, 'its files are all there');
  for (const l of ['a', 'b', 'c']) t.notOk(existsSync(join(d, `tmp-${l}`)), `tmp-${l} is gone`);
});

t.test('other errors are not swallowed', async (t) => {
  const d = t.testdir();
  await t.rejects(publishDir(join(d, 'no-such-tmp'), join(d, 'rootfs'), complete), { code: 'ENOENT' });
});
