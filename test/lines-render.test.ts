import t from 'tap';
import { ensureLine, removeLines } from '../src/lines.js';
import { renderString } from '../src/render.js';

t.test('ensureLine replaces the matching line, appends otherwise, and is idempotent', async (t) => {
  t.equal(ensureLine('', 'A=1'), 'A=1\n');
  t.equal(ensureLine('X=0\nA=0\nY=0\n', 'A=1', /^A=/), 'X=0\nA=1\nY=0\n');
  t.equal(ensureLine('X=0', 'A=1', /^A=/), 'X=0\nA=1\n');
  const once = ensureLine('X=0\n', 'A=1', /^A=/);
  t.equal(ensureLine(once, 'A=1', /^A=/), once);
  t.equal(removeLines('X=0\nA=1\n', /^A=/), 'X=0\n');
  t.equal(removeLines('A=1\n', /^A=/), '');
});

t.test('templates: no HTML escaping, strict variables, one trailing newline', async (t) => {
  t.equal(renderString('v = {{v}}', { v: `a<b>&"c'` }), `v = a<b>&"c'\n`);
  t.throws(() => renderString('v = {{missing}}', {}, 'x.hbs'), /x.hbs: "missing" not defined/);
});
