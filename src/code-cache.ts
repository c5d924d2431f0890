// A V8 code cache for the CommonJS files a command loads (#14): ssh2, handlebars' runtime, diff
// and the one-file yaml. Node 20 compiles every one of them from source on every start-up (its own
// compile cache, module.enableCompileCache, exists from node 22.1), ~0.05-0.1 s of CPU for `run`.
// The first run keeps what V8 compiled (after the run, so the functions it compiled lazily are in
// it too), one file per module; later runs hand it back to V8. Best effort: a cache directory that
// cannot be made, is not ours or root's, or is writable by others is not used; a file whose content
// changed is compiled again (each cache file starts with the SHA-1 of the source it was made from:
// V8 itself checks only the source's length); V8 rejects a cache from another V8 or other flags.
// SMBDIRECT_NO_CODE_CACHE=1 turns it off. ES modules (our own code) are not covered: node 20
// offers no cache for them.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

interface CjsModule {
  exports: unknown;
  require(id: string): unknown;
}
type Compile = (this: CjsModule, content: string, filename: string, ...rest: unknown[]) => unknown;
interface ModuleInternals {
  prototype: { _compile: Compile };
  wrap(content: string): string;
  _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: CjsModule): string[] | null;
  _cache: unknown;
  _extensions: unknown;
}

const HASH_BYTES = 20;

/** Whether DIR may hold code we run: made here if missing, ours or root's, writable by nobody else. */
function trusted(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    const uid = process.getuid?.() ?? 0;
    return st.isDirectory() && (st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

let installed = false;

/** Compiles the CommonJS files loaded from now on through a code cache kept in DIR. */
export function installCodeCache(dir: string): void {
  if (installed || process.env.SMBDIRECT_NO_CODE_CACHE || !trusted(dir)) return;
  installed = true;
  const M = Module as unknown as ModuleInternals;
  const original = M.prototype._compile;
  const dynamicImport = (vm.constants as { USE_MAIN_CONTEXT_DEFAULT_LOADER?: unknown } | undefined)?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const toWrite: Array<{ file: string; hash: Buffer; script: vm.Script }> = [];

  M.prototype._compile = function compile(this: CjsModule, content: string, filename: string, ...rest: unknown[]): unknown {
    // A hashbang or anything but a plain CommonJS file (node 20.19+ passes a format): node's way.
    if (rest.some((r) => r !== undefined && r !== 'commonjs') || content.startsWith('#!') || !dynamicImport) return original.call(this, content, filename, ...rest);
    const hash = createHash('sha1').update(content).digest();
    const file = join(dir, `${createHash('sha1').update(filename).digest('hex')}.bin`);
    let cachedData: Buffer | undefined;
    try {
      const data = readFileSync(file);
      if (data.subarray(0, HASH_BYTES).equals(hash)) cachedData = data.subarray(HASH_BYTES);
    } catch { /* not cached yet */ }
    let script: vm.Script;
    try {
      script = new vm.Script(M.wrap(content), { filename, cachedData, importModuleDynamically: dynamicImport as never });
    } catch {
      return original.call(this, content, filename, ...rest); // node words the syntax error (or loads it as ESM)
    }
    if (!cachedData || script.cachedDataRejected) toWrite.push({ file, hash, script });
    const fn = script.runInThisContext({ displayErrors: true }) as (...a: unknown[]) => unknown;
    // The require node would give the module (resolution from the module itself, one shared cache).
    const mod = this;
    const resolve = Object.assign((request: string, options?: unknown) => M._resolveFilename(request, mod, false, options), {
      paths: (request: string) => M._resolveLookupPaths(request, mod),
    });
    const req = Object.assign((id: string) => mod.require(id), {
      resolve,
      cache: M._cache,
      main: (process as { mainModule?: unknown }).mainModule,
      extensions: M._extensions,
    });
    return fn.call(mod.exports, mod.exports, req, mod, filename, dirname(filename));
  };

  process.once('exit', () => {
    for (const { file, hash, script } of toWrite) {
      try {
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, Buffer.concat([hash, script.createCachedData()]), { mode: 0o600 });
        renameSync(tmp, file);
      } catch {
        return; // not writable: the next run compiles again
      }
    }
  });
}
