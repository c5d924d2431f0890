#!/usr/bin/env node
// Writes dist/bundle/run.cjs: our own code that `run` loads (src/main.ts, the command definitions,
// run-action, engine, facts, src/smb and every task under dist/tasks), as one CommonJS file made by
// esbuild from tsc's output (#14). Node 20 compiles ES modules one at a time and caches none of
// them; one CommonJS file goes through src/code-cache.ts. src/run-bundle.ts loads it when it is
// newer than every file listed in dist/bundle/run.json. How the bundle keeps behaving as the ES
// modules do:
// - npm packages stay outside; a package node can require is required (zx, node-ssh, ssh2: their
//   CommonJS builds; node-ssh and ssh2 as the one file bundle-ssh.mjs made, when it made one); one
//   that is ES only and imported statically (p-limit, yargs-parser) is imported by load() before
//   any of our code runs and handed over; an import() stays an import().
// - every import() left goes through the importer cli.ts hands load(): V8 loses a cached script's
//   own import() callback (node 20), so the bundle's own would fail from its second run on.
// - each module's import.meta.url is the URL its file has under dist/, found from the bundle's own
//   place (dist/bundle/), so paths.ts, yaml.ts, render.ts, plan.ts and build-modules.ts find what
//   they found before.
// - the other commands' implementations and yargs-cli.js stay ES modules: `run` never loads them.
// - the tasks go in (a task imported by path would hold its own copy of the secrets registry);
//   playbook.ts takes them from bundled.ts.
// Run by bundle-yaml.mjs (npm run build). Best effort: without esbuild or on any doubt, no bundle,
// and `run` loads the ES modules.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshBundle, sshBundled } from './bundle-ssh.mjs';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const dest = join(dist, 'bundle', 'run.cjs');
const manifest = join(dist, 'bundle', 'run.json');
const posix = (p) => p.split(sep).join('/');
const noBundle = (why) => {
  rmSync(dest, { force: true });
  rmSync(manifest, { force: true });
  console.warn(`scripts/bundle-run.mjs: no bundle, run loads its ES modules: ${why}`);
};

/** Whether node 20 can require() the package (its CommonJS entry), from the project root. */
function requirable(name) {
  const file = require.resolve(name, { paths: [root] });
  if (file.endsWith('.cjs')) return true;
  if (file.endsWith('.mjs')) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return require(join(dir, 'package.json')).type !== 'module';
    } catch { /* no package.json here */ }
  }
  return true;
}

const pkgName = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
const esmOnly = new Set(); // statically imported ES-only packages, which load() imports first

/** What stays out of the bundle, and how the rest is read. */
const plugin = {
  name: 'smbdirect-run',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (a) => {
      if (isBuiltin(a.path)) return { external: true };
      if (a.path === 'node-ssh' && sshBundled) return { path: posix(relative(join(dist, 'bundle'), sshBundle)), external: true };
      if (a.kind === 'dynamic-import' || requirable(pkgName(a.path))) return { external: true };
      esmOnly.add(a.path);
      return { path: a.path, namespace: 'esm-only' };
    });
    build.onResolve({ filter: /(-action|\/yargs-cli)\.js$/ }, (a) => {
      const file = join(a.resolveDir, a.path);
      if (/run-action\.js$/.test(file)) return undefined;
      if (a.kind !== 'dynamic-import') return { errors: [{ text: `${a.path} imported statically by ${a.importer}` }] };
      return { path: posix(relative(join(dist, 'bundle'), file)), external: true };
    });
    // the package as load() imported it, with its own export names
    build.onLoad({ filter: /.*/, namespace: 'esm-only' }, async (a) => {
      const names = Object.keys(await import(a.path)).filter((n) => n !== 'default' && /^[\w$]+$/.test(n));
      return {
        contents: `const m = __smbdirect.loaded[${JSON.stringify(a.path)}];\nexport default m.default;\n${names.length ? `export const { ${names.join(', ')} } = m;\n` : ''}`,
        loader: 'js',
      };
    });
    build.onLoad({ filter: /\.js$/ }, (a) => {
      const text = readFileSync(a.path, 'utf8');
      const url = text.replaceAll('import.meta.url', `__smbdirect.url(${JSON.stringify(posix(relative(dist, a.path)))})`);
      if (url.includes('import.meta')) return { errors: [{ text: `${a.path}: import.meta other than import.meta.url` }] };
      return { contents: url, loader: 'js' };
    });
  },
};

/** Every .js file under DIR (dist/tasks), relative to dist/, and the folders that hold them. */
function walk(dir, files = [], dirs = []) {
  dirs.push(posix(relative(dist, dir)));
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(dir, e.name), files, dirs);
    else if (e.name.endsWith('.js')) files.push(posix(relative(dist, join(dir, e.name))));
  }
  return { files, dirs };
}

// The helpers every module of the bundle reaches (__smbdirect): their file URLs, the ES-only
// packages load() imported, the importer; load() fills in the last two.
const BANNER = `// smbdirect-provision's own code for \`run\` in one file: made by scripts/bundle-run.mjs from dist/,
// loaded by src/run-bundle.ts. Do not edit: rebuild (npm run build).
var __smbdirect = {
  url: (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, "..", rel)).href,
  loaded: {},
  importer: undefined,
  import: (s) => __smbdirect.importer(s.startsWith(".") ? require("node:url").pathToFileURL(require("node:path").join(__dirname, s)).href : s),
};`;

async function bundle() {
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch (e) {
    return noBundle(e.message.split('\n')[0]);
  }
  mkdirSync(dirname(dest), { recursive: true });
  const tasks = walk(join(dist, 'tasks'));
  const entry = `import { bundledTasks } from './src/bundled.js';
export async function load(importer) {
  __smbdirect.importer = importer;
  for (const name of __smbdirect.preload) __smbdirect.loaded[name] = await importer(name);
${tasks.files.map((f) => `  bundledTasks.set(${JSON.stringify(posix(relative('tasks', f)))}, () => import(${JSON.stringify(`./${f}`)}));`).join('\n')}
  return import('./src/main.js');
}
`;
  const tmp = `${dest}.${process.pid}.tmp`;
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      stdin: { contents: entry, resolveDir: dist, sourcefile: 'run-entry.js', loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: tmp,
      write: false,
      metafile: true,
      logLevel: 'silent',
      banner: { js: BANNER },
      plugins: [plugin],
    });
  } catch (e) {
    return noBundle(e.message.split('\n').slice(0, 3).join(' '));
  }
  // Every import() left (a package, a file kept out, a task by path) goes through the importer
  // (see above); esbuild has turned those of bundled modules into calls, and dropped the comments.
  let text = result.outputFiles[0].text.replace(/(?<![\w$.])import\(/g, '__smbdirect.import(');
  text += `__smbdirect.preload = ${JSON.stringify([...esmOnly].sort())};\n`;

  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes(':'))
    .map((f) => posix(relative(dist, join(root, f)))).filter((f) => f !== 'run-entry.js'); // the entry is stdin
  if (inputs.some((f) => f.startsWith('..'))) return noBundle(`it takes in ${inputs.find((f) => f.startsWith('..'))}, outside dist/`);
  // The folders of tasks too: a task added after the build is not in the bundle.
  // The one-file node-ssh too: required, not taken in, so the bundle is stale without it.
  const vendored = sshBundled ? [posix(relative(dist, sshBundle))] : [];
  writeFileSync(manifest, `${JSON.stringify({ inputs: [...inputs, ...vendored, ...tasks.dirs].sort() }, null, 1)}\n`);
  writeFileSync(tmp, text);
  renameSync(tmp, dest); // last, so that the bundle is newer than its manifest and inputs
  console.log(`wrote ${relative(process.cwd(), dest)} (${inputs.length} modules, ${tasks.files.length} tasks, ${Math.round(statSync(dest).size / 1024)} KB; ES-only packages imported first: ${[...esmOnly].join(', ') || 'none'})`);
}

await bundle();
