// `run` from the one CommonJS file the build makes of our code (scripts/bundle-run.mjs, #14): node
// 20 compiles ~110 ES modules one at a time on every start-up (~0.1 s of CPU, no compile cache for
// ES modules), while one CommonJS file goes through code-cache.ts. Used only when it is there and
// newer than every file it was made from (dist/bundle/run.json lists them); else, or with
// SMBDIRECT_NO_BUNDLE=1, the ES modules as before.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

type Main = typeof import('./main.js');
interface Bundle { load(importer: (specifier: string) => Promise<unknown>): Promise<Main> }

const DIR = fileURLToPath(new URL('../bundle/', import.meta.url));
const DIST = fileURLToPath(new URL('../', import.meta.url));

/** The bundle's path if it is there and up to date. */
export function freshRunBundle(): string | undefined {
  if (process.env.SMBDIRECT_NO_BUNDLE) return undefined;
  try {
    const file = `${DIR}run.cjs`;
    const built = statSync(file).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(`${DIR}run.json`, 'utf8')) as { inputs: string[] };
    return inputs.every((f) => statSync(DIST + f).mtimeMs <= built) ? file : undefined;
  } catch {
    return undefined; // not built, or a source gone
  }
}

/** main.ts from the bundle, or undefined. Install the code cache first. */
export async function loadRunBundle(): Promise<Main | undefined> {
  const file = freshRunBundle();
  if (!file) return undefined;
  try {
    // V8 loses a cached script's import() callback (node 20), so the bundle imports through ours.
    return await (createRequire(import.meta.url)(file) as Bundle).load((specifier) => import(specifier));
  } catch {
    return undefined; // a bundle that does not load: the ES modules, as without one
  }
}
