#!/usr/bin/env node
// Writes dist/vendor/templates.cjs: each templates/*.hbs precompiled by Handlebars with the options
// src/render.ts compiles with (#14), beside its source text. src/render.ts renders a template with
// Handlebars' runtime alone when the file holds that very source (else it compiles it, as before):
// the compiler (and source-map) take ~0.02 s of CPU to load and ~0.01 s to compile the templates,
// on every run. Run by scripts/bundle-yaml.mjs, so by `npm run build`.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
