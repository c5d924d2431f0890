import t from 'tap';
import { ensureLine, removeLines } from '../src/lines.js';
import { render, renderString } from '../src/render.js';

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

t.test('templates precompiled at build time: every template, from its own source, rendered by the runtime alone', async (t) => {
  const { existsSync, readdirSync, readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const { join } = await import('node:path');
  const { ROOT, TEMPLATES_DIR } = await import('../src/paths.js');
  const file = join(ROOT, 'dist', 'vendor', 'templates.cjs');
  // npm test's pretest builds it: missing is a failure, not a skip.
  if (!t.ok(existsSync(file), `${file} built (scripts/precompile-templates.mjs, run by bundle-yaml.mjs)`)) return;
  const require = createRequire(import.meta.url);
  const pre = require(file) as Array<{ name: string; source: string }>;
  const names = readdirSync(TEMPLATES_DIR).filter((f) => f.endsWith('.hbs')).sort();
  t.same(pre.map((p) => p.name), names, 'one entry per template');
  for (const p of pre) t.equal(p.source, readFileSync(join(TEMPLATES_DIR, p.name), 'utf8'), `${p.name}: its current source`);
  // In a process of its own (this one compiled templates above): the built render.js.
  const { execFileSync } = await import('node:child_process');
  const { pathToFileURL } = await import('node:url');
  const script = `const { render } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'src', 'render.js')).href)});
    const { createRequire } = await import('node:module');
    const text = render('smbdirect-remount@.service.hbs', { delay: 15, burst: 120, window: 1800 });
    const compiler = Object.keys(createRequire(import.meta.url).cache).some((k) => /handlebars[/\\\\]compiler[/\\\\]/.test(k));
    console.log(JSON.stringify({ text, compiler }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { text: string; compiler: boolean };
  const data = { delay: 15, burst: 120, window: 1800 };
  const compiled = (require('handlebars') as typeof import('handlebars')).compile(readFileSync(join(TEMPLATES_DIR, 'smbdirect-remount@.service.hbs'), 'utf8'), { noEscape: true, strict: true })(data);
  t.equal(out.text, compiled.endsWith('\n') ? compiled : `${compiled}\n`, 'the text Handlebars compiles');
  t.equal(render('smbdirect-remount@.service.hbs', data), out.text, 'and render() here');
  t.equal(out.compiler, false, 'no Handlebars compiler loaded');
  t.ok(existsSync(join(ROOT, 'dist', 'vendor', `handlebars-runtime-${(require('handlebars/package.json') as { version: string }).version}.cjs`)), 'the runtime in one file');
  // A source no build precompiled is compiled, as before.
  t.equal(renderString('{{yesno a}} {{join b "+"}}', { a: true, b: [1, 2] }), 'yes 1+2\n');
});
