#!/usr/bin/env node
// Writes dist/vendor/templates.cjs: each templates/*.hbs precompiled by Handlebars with the options
// src/render.ts compiles with (#14), beside its source text. src/render.ts renders a template with
// Handlebars' runtime alone when the file holds that very source (else it compiles it, as before):
// the compiler (and source-map) take ~0.02 s of CPU to load and ~0.01 s to compile the templates,
// on every run. Run by scripts/bundle-yaml.mjs, so by `npm run build`.
// It also writes dist/vendor/handlebars-runtime-VERSION.cjs, the runtime's 13 CommonJS files in one
// (esbuild, as bundle-yaml.mjs does for yaml): ~0.003 s to load instead of ~0.016 s. Without
// esbuild, or when the bundle differs from the package, none is written: render.ts then loads
// handlebars/runtime itself.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Handlebars = require('handlebars');
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'templates');
const dest = join(root, 'dist', 'vendor', 'templates.cjs');
// The options of src/render.ts (COMPILE_OPTIONS): keep them in step.
const options = { noEscape: true, strict: true };
const entries = readdirSync(dir).filter((f) => f.endsWith('.hbs')).sort().map((f) => {
  const source = readFileSync(join(dir, f), 'utf8');
  return `  { name: ${JSON.stringify(f)}, source: ${JSON.stringify(source)},\n    spec: ${Handlebars.precompile(source, { ...options })} },`;
});
mkdirSync(dirname(dest), { recursive: true });
writeFileSync(`${dest}.tmp`, `// templates/*.hbs precompiled by Handlebars ${Handlebars.VERSION} (${JSON.stringify(options)}): written by
// scripts/precompile-templates.mjs, read by src/render.ts. Generated: do not edit.
module.exports = [\n${entries.join('\n')}\n];\n`);
renameSync(`${dest}.tmp`, dest);
console.log(`wrote ${relative(process.cwd(), dest)} (${entries.length} templates, Handlebars ${Handlebars.VERSION})`);

const runtimeDest = join(root, 'dist', 'vendor', `handlebars-runtime-${Handlebars.VERSION}.cjs`);
try {
  const esbuild = require('esbuild');
  esbuild.buildSync({
    entryPoints: [require.resolve('handlebars/runtime')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: runtimeDest,
    logLevel: 'warning',
    banner: { js: `// Handlebars ${Handlebars.VERSION}'s runtime (handlebars/runtime, MIT licence: node_modules/handlebars/LICENSE) in one file:\n// bundled by esbuild in scripts/precompile-templates.mjs, loaded by src/render.ts.` },
  });
  const bundled = require(runtimeDest);
  const plain = require('handlebars/runtime');
  const spec = (0, eval)(`(${Handlebars.precompile('a {{b}} {{#each c}}{{this}}{{/each}}', { ...options })})`);
  if (Object.keys(bundled).join() !== Object.keys(plain).join() || bundled.VERSION !== plain.VERSION ||
      bundled.create().template(spec)({ b: 1, c: [2, 3] }) !== plain.create().template(spec)({ b: 1, c: [2, 3] })) {
    rmSync(runtimeDest, { force: true });
    console.warn('scripts/precompile-templates.mjs: the runtime bundle differed from handlebars/runtime: not written');
  } else {
    console.log(`wrote ${relative(process.cwd(), runtimeDest)} (Handlebars ${Handlebars.VERSION}'s runtime, esbuild ${esbuild.version})`);
  }
} catch (e) {
  rmSync(runtimeDest, { force: true });
  console.warn(`scripts/precompile-templates.mjs: no runtime bundle, render.ts loads handlebars/runtime: ${e.message.split('\n')[0]}`);
}
