#!/usr/bin/env node
// Writes dist/vendor/node-ssh-VERSION.cjs: node-ssh with ssh2 and their dependencies (~35 CommonJS
// files) as one file, bundled by esbuild (a devDependency), which the `run` bundle requires instead
// of the package (#14). Node resolves and reads the package's files one by one on every `run`
// (~0.045 s of CPU on this machine without a code cache, ~0.033 s as one file). esbuild keeps each
// file's CommonJS scope and runs them in node's order. Left out, as ssh2 itself allows: its
// optional native parts (cpu-features, the sshcrypto binding built only where a compiler was at
// install), which it tries in a try/catch and does without (node's own crypto; the lab's
// installs have neither). If esbuild is missing or fails, the bundle takes in a file outside
// node_modules or differs from the package, no bundle is written (any old one is removed) and
// `run` requires the package as before. Run by bundle-yaml.mjs (npm run build), before
// bundle-run.mjs, which looks for it.
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const version = require('node-ssh/package.json').version;
const ssh2 = require('ssh2/package.json').version;
export const sshBundle = fileURLToPath(new URL(`../dist/vendor/node-ssh-${version}.cjs`, import.meta.url));

function build() {
  const noBundle = (why) => {
    rmSync(sshBundle, { force: true });
    console.warn(`scripts/bundle-ssh.mjs: no bundle, node-ssh and ssh2 load file by file: ${why}`);
    return false;
  };
  let esbuild;
  let result;
  try {
    esbuild = require('esbuild');
    mkdirSync(dirname(sshBundle), { recursive: true });
    result = esbuild.buildSync({
      entryPoints: [require.resolve('node-ssh')],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: sshBundle,
      metafile: true,
      logLevel: 'error',
      external: ['cpu-features', '*.node'],
      banner: {
        js: `// node-ssh ${version} (https://github.com/steelbrain/node-ssh) and ssh2 ${ssh2} (https://github.com/mscdex/ssh2) with
// their dependencies in one file: bundled by esbuild in scripts/bundle-ssh.mjs, required by the
// \`run\` bundle (dist/bundle/run.cjs). Each package's licence is in its own node_modules folder.`,
      },
    });
  } catch (e) {
    return noBundle(e.message.split('\n')[0]);
  }
  const inputs = Object.keys(result.metafile.inputs);
  const outside = inputs.find((f) => !f.startsWith('node_modules/'));
  if (outside) return noBundle(`it takes in ${outside}, outside node_modules`);
  // The same exports, with ssh2's client inside.
  const bundled = require(sshBundle);
  const plain = require('node-ssh');
  if (Object.keys(bundled).join() !== Object.keys(plain).join() || typeof bundled.NodeSSH !== 'function' || !inputs.includes('node_modules/ssh2/lib/client.js')) {
    return noBundle('the bundle differed from the node-ssh package');
  }
  console.log(`wrote ${relative(process.cwd(), sshBundle)} (${inputs.length} files: node-ssh ${version}, ssh2 ${ssh2}; esbuild ${esbuild.version})`);
  return true;
}

export const sshBundled = build();
