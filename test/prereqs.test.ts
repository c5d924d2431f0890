// The controller's prerequisites (src/prereqs.ts) against the code that runs programs: every
// program the lab, the VM lab, the kernel build and the bench start must have an entry, naming
// the Debian package that really provides it. Then the installer for real: whatever the lab,
// VM lab and module build lack is apt-installed (.ci/run purges those packages first, so this
// runs on a machine that lacks them).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PREREQUISITES, allPackages, ensurePrerequisites, missingPackages, type Feature } from '../src/prereqs.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Which feature's list must name the programs run by each source file. */
function featuresOf(file: string): Feature[] | undefined {
  if (/^src\/lab\/vm[^/]*\.ts$/.test(file)) return ['vm-lab'];
  if (/^src\/lab\//.test(file)) return ['lab'];
  if (/^src\/kernel\//.test(file)) return ['module-build'];
  if (file === 'src/prereqs.ts') return ['lab', 'vm-lab', 'module-build', 'bench'];
  if (/^bench\//.test(file)) return ['lab', 'bench'];
  if (/^scripts\//.test(file)) return ['lab', 'vm-lab', 'module-build'];
  if (file === 'test/helpers/chromium.ts') return ['report-test'];
  return undefined;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The programs a source file starts on the controller: the first word of each zx template
 * (`sh\`make ...\``, `sh({ env })\`apt-get ...\``) and the literal first argument of
 * run/execFile/spawn/measure. A template that starts with an interpolation is not a program. */
export function programsIn(text: string): string[] {
  const code = text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
  const found = new Set<string>();
  for (const m of code.matchAll(/\b(?:sh|shTry|\$)(?:\(\{[^}]*\}\))?`\s*([A-Za-z0-9_./+-]+)([^`]*)/g)) {
    found.add(m[1]!);
    // `unshare OPTIONS PROGRAM ...` runs PROGRAM too: the first word that is no option (nor
    // --propagation's value) and no interpolation.
    if (m[1] === 'unshare') {
      const words = m[2]!.trim().split(/\s+/);
      const program = words.find((w, i) => !w.startsWith('-') && words[i - 1] !== '--propagation');
      if (program && /^[A-Za-z0-9_./+-]+$/.test(program)) found.add(program.split('/').at(-1)!);
    }
  }
  for (const m of code.matchAll(/(?<![.\w])(?:run|execFile|execFileSync|spawn|spawnSync|measure)\(\s*'([^']+)'/g)) found.add(m[1]!.split('/').at(-1)!);
  return [...found];
}

const files = ['src', 'bench', 'scripts', 'test'].flatMap(sources).filter((f) => featuresOf(f));

t.test('the scanner finds what the code runs (so an empty scan cannot pass)', async (t) => {
  const all = new Set(files.flatMap((f) => programsIn(readFileSync(join(ROOT, f), 'utf8'))));
  for (const p of ['debootstrap', 'qemu-system-x86_64', 'qemu-img', 'unshare', 'chroot', 'ip', 'nsenter', 'apt-get', 'ansible-playbook', 'chromium']) {
    t.ok(all.has(p), `the code runs ${p}`);
  }
  t.same(programsIn("await sh`make ${args}`;\n// sh`ignored in a comment`\nrun('uname', ['-r']); sh`${x} y`; conn.run('remote-only')"), ['make', 'uname']);
  t.same(programsIn('sh`unshare --mount --propagation private debootstrap --variant=minbase ${x}`; sh`unshare -m ${cmd}`'), ['unshare', 'debootstrap']);
});

t.test('every program the lab, VM lab, kernel build and bench run has an entry', async (t) => {
  for (const file of files) {
    const listed = new Set(featuresOf(file)!.flatMap((f) => PREREQUISITES[f].map((p) => p.command)));
    for (const program of programsIn(readFileSync(join(ROOT, file), 'utf8'))) {
      t.ok(listed.has(program), `${file} runs ${program}: listed under ${featuresOf(file)!.join(' or ')} in src/prereqs.ts`);
    }
  }
});

t.test('a program missing from the list is caught', async (t) => {
  const text = "await sh`qemu-nbd --connect ${dev}`;";
  const listed = new Set(PREREQUISITES['vm-lab'].map((p) => p.command));
  t.same(programsIn(text).filter((p) => !listed.has(p)), ['qemu-nbd']);
});

t.test('.ci/run purges exactly the listed packages that the base image lacks', async (t) => {
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
  t.match(ci, /allPackages/, '.ci/run takes the list from src/prereqs.ts');
  t.match(ci, /base-packages\.txt/, 'and leaves the base image alone');
  t.match(ci, /apt-get[^\n]*purge/);
  t.match(ci, /autoremove/);
  t.ok(ci.indexOf('purge') < ci.indexOf('npm test'), 'before the tests run');
  t.ok(allPackages().includes('qemu-system-x86') && allPackages().includes('debootstrap'));
});

/** The owning package of each path, from one dpkg -S (usrmerge: /usr/bin/x may be registered
 * as /bin/x, so both spellings are asked). */
function owners(paths: string[]): Map<string, string> {
  const spellings = paths.flatMap((p) => [p, p.startsWith('/usr/') ? p.slice(4) : `/usr${p}`]);
  const out = spawnSync('dpkg', ['-S', ...spellings], { encoding: 'utf8' }).stdout;
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^([^:\s,]+)(?:, [^:]+)?: (\/.*)$/.exec(line); // "pkg: /path" (not "diversion by ...")
    if (!m || line.startsWith('diversion')) continue;
    const path = m[2]!;
    map.set(path, m[1]!);
    map.set(path.startsWith('/usr/') ? path.slice(4) : `/usr${path}`, m[1]!);
  }
  return map;
}

function which(command: string): string | undefined {
  return (process.env.PATH ?? '').split(':').map((dir) => join(dir, command)).find((p) => existsSync(p));
}

t.test('the installer brings in what the lab, VM lab, module build and report test lack, and each package provides its command', async (t) => {
  const features: Feature[] = ['lab', 'vm-lab', 'module-build', 'report-test', 'probe-test'];
  const before = await missingPackages(features);
  const lines: string[] = [];
  await ensurePrerequisites(features, (l) => lines.push(l));
  if (before.length > 0) t.match(lines.join('\n'), /apt-get install/, `a progress line names the install of ${before.join(' ')}`);
  t.same(await missingPackages(features), [], 'nothing missing afterwards');
  const entries = features.flatMap((f) => PREREQUISITES[f]);
  const paths = entries.map((p) => which(p.command));
  const found = paths.filter((p): p is string => p !== undefined);
  // A command may be an alternatives symlink (gcc -> gcc-12): its own path names the package.
  const owned = owners([...found, ...found.map((p) => realpathSync(p))]);
  entries.forEach((p, i) => {
    const path = paths[i];
    t.ok(path, `${p.command} is on PATH`);
    if (path) t.equal(owned.get(path) ?? owned.get(realpathSync(path)), p.pkg, `${p.command} comes from ${p.pkg}`);
  });
});
