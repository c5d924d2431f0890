#!/usr/bin/env node
// Writes dist/vendor/yaml-VERSION.cjs: the yaml package (CommonJS, ~70 files) as one file, which
// src/yaml.ts loads when it is there (#14). Node loads the package's files one by one, and that
// costs every command that reads an inventory or a playbook ~0.05-0.09 s of CPU; one file costs
// ~0.02 s. Each file keeps its own function scope, module and exports, exactly as written; a
// require() of one of the package's own files returns that file's exports (each run once, cached,
// in the order node would run them), a require() of a node module is node's. Anything else (a
// computed require, a dependency outside the package, a bundle that differs from the package)
// writes no bundle, with a warning: src/yaml.ts then loads the package from node_modules as
// before, only slower. Run by `npm run build` (after tsc).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, relative } from 'node:path';

const require = createRequire(import.meta.url);
const entry = require.resolve('yaml');
const root = dirname(require.resolve('yaml/package.json'));
const { version } = require('yaml/package.json');

const files = new Map(); // path in the package -> { source, deps: spec -> path in the package }
const add = (file) => {
  const key = relative(root, file);
  if (files.has(key)) return key;
  const source = readFileSync(file, 'utf8');
  const entryOf = { source, deps: {} };
  files.set(key, entryOf);
  const from = createRequire(file);
  for (const m of source.matchAll(/\brequire\s*\(([^)]*)\)/g)) {
    const spec = /^\s*'([^']+)'\s*$/.exec(m[1])?.[1];
    if (spec === undefined) throw new Error(`${key}: a require() that is not a plain string: ${m[0]}`);
    if (isBuiltin(spec)) continue;
    const dep = from.resolve(spec);
    if (relative(root, dep).startsWith('..')) throw new Error(`${key}: requires ${spec}, outside the package`);
    entryOf.deps[spec] = add(dep);
  }
  return key;
};
let main;
try {
  main = add(entry);
} catch (e) {
  console.warn(`scripts/bundle-yaml.mjs: no bundle, yaml loads file by file: ${e.message}`);
  process.exit(0);
}

let out = `// The yaml package ${version} (https://github.com/eemeli/yaml), its ${files.size} CommonJS files in one:
// written by scripts/bundle-yaml.mjs, loaded by src/yaml.ts. Its licence:
${readFileSync(`${root}/LICENSE`, 'utf8').trim().split('\n').map((l) => `// ${l}`.trimEnd()).join('\n')}
'use strict';
const files = {
`;
for (const [key, { source, deps }] of files) {
  out += `${JSON.stringify(key)}: [${JSON.stringify(deps)}, function (exports, require, module) {\n${source}\n}],\n`;
}
out += `};
const done = {};
function load(key) {
  if (done[key]) return done[key].exports;
  const module = (done[key] = { exports: {} });
  const [deps, body] = files[key];
  body.call(module.exports, module.exports, (spec) => (spec in deps ? load(deps[spec]) : require(spec)), module);
  return module.exports;
}
module.exports = load(${JSON.stringify(main)});
`;

const dest = new URL(`../dist/vendor/yaml-${version}.cjs`, import.meta.url);
mkdirSync(new URL('.', dest), { recursive: true });
writeFileSync(dest, out);

// the same exports, and the same reading of a sample, as the package itself
const bundled = require(dest.pathname);
const plain = require('yaml');
const sample = 'a: [1, {b: 2}]\nc: &x yes\nd: *x\ne: !!binary aGk=\n';
if (Object.keys(bundled).join() !== Object.keys(plain).join() ||
    JSON.stringify(bundled.parse(sample)) !== JSON.stringify(plain.parse(sample)) ||
    bundled.stringify({ a: [1, 'x: y'] }) !== plain.stringify({ a: [1, 'x: y'] })) {
  rmSync(dest);
  console.warn(`scripts/bundle-yaml.mjs: no bundle, yaml loads file by file: the bundle differed from the yaml package`);
  process.exit(0);
}
console.log(`wrote ${relative(process.cwd(), dest.pathname)} (${files.size} files of yaml ${version})`);
