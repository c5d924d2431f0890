#!/usr/bin/env node
// Writes dist/vendor/yaml-VERSION.cjs: the yaml package (CommonJS, ~70 files) as one file, bundled
// by esbuild (a devDependency), which src/yaml.ts loads when it is there (#14). Node loads the
// package's files one by one, and that costs every command that reads an inventory or a playbook
// ~0.05-0.09 s of CPU; one file costs ~0.02 s. esbuild keeps each file's CommonJS scope and runs
// them in node's order; node modules (process, buffer) stay node's. If esbuild is missing or fails,
// no bundle is written; a bundle that takes in a file outside the package or differs from the
// package is removed; either with a warning: src/yaml.ts then loads the package from node_modules
// as before, only slower. Run by `npm run build` (after tsc).
// The templates and the one file of `run` (bundle-run.mjs) first: this script may stop early (noBundle).
import './precompile-templates.mjs';
import './bundle-run.mjs';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('yaml/package.json'));
const { version } = require('yaml/package.json');
const dest = fileURLToPath(new URL(`../dist/vendor/yaml-${version}.cjs`, import.meta.url));
const noBundle = (why, remove = false) => {
  if (remove) rmSync(dest, { force: true });
  console.warn(`scripts/bundle-yaml.mjs: no bundle, yaml loads file by file: ${why}`);
  process.exit(0);
};

let esbuild;
let result;
try {
  esbuild = require('esbuild'); // CommonJS, so NODE_PATH can point at another install
  mkdirSync(dirname(dest), { recursive: true });
  result = esbuild.buildSync({
    entryPoints: [require.resolve('yaml')],
    absWorkingDir: root, // the bundle's comments name the package's files relative to it
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: dest,
    metafile: true,
    logLevel: 'warning',
    banner: {
      js: `// The yaml package ${version} (https://github.com/eemeli/yaml) in one file: bundled by esbuild in
// scripts/bundle-yaml.mjs, loaded by src/yaml.ts. Its licence:
${readFileSync(`${root}/LICENSE`, 'utf8').trim().split('\n').map((l) => `// ${l}`.trimEnd()).join('\n')}`,
    },
  });
} catch (e) {
  noBundle(e.message.split('\n')[0]);
}
const inputs = Object.keys(result.metafile.inputs);
const outside = inputs.find((f) => f.startsWith('..'));
if (outside) noBundle(`it takes in ${outside}, outside the package`, true);

// the same exports, and the same reading of a sample, as the package itself
const bundled = require(dest);
const plain = require('yaml');
const sample = 'a: [1, {b: 2}]\nc: &x yes\nd: *x\ne: !!binary aGk=\n';
if (Object.keys(bundled).join() !== Object.keys(plain).join() ||
    JSON.stringify(bundled.parse(sample)) !== JSON.stringify(plain.parse(sample)) ||
    bundled.stringify({ a: [1, 'x: y'] }) !== plain.stringify({ a: [1, 'x: y'] })) {
  noBundle('the bundle differed from the yaml package', true);
}
console.log(`wrote ${relative(process.cwd(), dest)} (${inputs.length} files of yaml ${version}, esbuild ${esbuild.version})`);
