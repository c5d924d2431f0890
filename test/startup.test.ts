// Start-up (#14). cli.ts prints `--help` from help-text.ts and parses plain command lines with
// fast-argv.ts, without yargs. Both must give what yargs gives: the help text byte for byte (and
// yargs' own rendering when the locale or the terminal would change it), and for each command
// line of a corpus either yargs' argv, key for key, or undefined (then yargs parses it). And the
// build's one-file yaml (scripts/bundle-yaml.mjs) is what the compiled code reads YAML with, and
// reads as the yaml package does.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { loadCommands } from '../src/commands/all.js';
import { fastArgv, recordBuilder, type CommandDef } from '../src/commands/fast-argv.js';
import { HELP } from '../src/commands/help-text.js';
import { yargsCli } from '../src/commands/yargs-cli.js';
import { CLI } from './helpers/lab.js';

const ROOT = new URL('..', import.meta.url).pathname;
const COMMANDS = await loadCommands();

function run(args: string[], env: NodeJS.ProcessEnv = {}, script?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const argv = script === undefined ? [CLI, ...args] : ['--input-type=module', '-e', script, '--', ...args];
    const p = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, LC_ALL: '', LC_MESSAGES: '', LANG: 'C.UTF-8', LANGUAGE: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// The same command line through yargs alone (the compiled modules, as the CLI runs them).
const VIA_YARGS = `
const COMMANDS = await (await import(${JSON.stringify(new URL('../dist/src/commands/all.js', import.meta.url).href)})).loadCommands();
const { yargsCli } = await import(${JSON.stringify(new URL('../dist/src/commands/yargs-cli.js', import.meta.url).href)});
const { reportError } = await import(${JSON.stringify(new URL('../dist/src/errors.js', import.meta.url).href)});
try {
  await yargsCli(process.argv.slice(1), COMMANDS).parseAsync();
} catch (e) {
  reportError(e); // as cli.ts does
  process.exitCode = 1;
}
`;

t.test('--help: help-text.ts is what yargs prints', async (t) => {
  const rendered = (await yargsCli([], COMMANDS).locale('en').wrap(80).getHelp()) + '\n';
  t.equal(HELP, rendered, 'src/commands/help-text.ts is stale: npx tsc -p . && node scripts/help-text.mjs');
  const fast = await run(['--help']);
  const slow = await run(['--help'], {}, VIA_YARGS);
  t.same([fast.code, fast.stderr], [0, ''], 'exit 0, nothing on stderr');
  t.same([slow.code, slow.stderr], [0, '']);
  t.equal(fast.stdout, HELP, 'the CLI prints help-text.ts');
  t.equal(slow.stdout, fast.stdout, 'yargs prints the same');
  for (const env of [{ LANG: 'en_GB.UTF-8' }, { LC_ALL: 'C' }, { LANG: '', LANGUAGE: '' }]) {
    t.equal((await run(['--help'], env, VIA_YARGS)).stdout, HELP, `yargs, ${JSON.stringify(env)}: the same text`);
    t.equal((await run(['--help'], env)).stdout, HELP, `the CLI, ${JSON.stringify(env)}`);
  }
  // another language: yargs renders it (the CLI does not print the English text)
  const de = await run(['--help'], { LANG: 'de_DE.UTF-8' });
  t.match(de.stdout, /Kommandos:/);
  t.equal(de.stdout, (await run(['--help'], { LANG: 'de_DE.UTF-8' }, VIA_YARGS)).stdout);
  t.equal(de.code, 0);
});

t.test('no command, or an unknown one: yargs words the error, exit 1', async (t) => {
  for (const args of [[], ['nope'], ['inventory', '-i', 'x'], ['inventory', '--list', '--nope'], ['run']]) {
    const r = await run(args);
    const y = await run(args, {}, VIA_YARGS);
    t.equal(r.code, 1, `${args.join(' ')}: exit 1`);
    t.equal(r.stderr, y.stderr, `${args.join(' ')}: ${r.stderr.split('\n')[0]}`);
  }
});

t.test("every builder records: fast-argv.ts knows each command's options", async (t) => {
  for (const c of COMMANDS) t.ok(recordBuilder(c.builder), c.command);
});

// [command line, whether fast-argv.ts parses it (false: it leaves it to yargs)]
const CORPUS: Array<[string[], boolean]> = [
  [['inventory', '-i', 'inventory/example', '--list'], true],
  [['inventory', '--list'], true],
  [['inventory', '--graph', '-i', 'a', '-i', 'b', '--inventory', 'c'], true],
  [['inventory', '--host', 'srv1', '-i', 'inv'], true],
  [['inventory', '--host', '10.0.0.1', '-i', 'inv'], true],
  [['inventory', '--list', '-e', 'a=1', 'b=2', '-e', '@x.yml', '--limit', 'srv*'], true],
  [['inventory', '--list', '-e', 'a=', '-l', ''], true],
  [['inventory', '--list', '-e', '7'], true],
  [['inventory', '--list', '--vault-id', 'dev@prompt', '--vault-password-file', 'f', '--ask-vault-pass'], true],
  [['inventory', '--list', '--limit', '5'], true],
  [['run', 'site', '-i', 'inv'], true],
  [['run', 'site', '-vv', '-e', 'a=1', 'b=2', '-i', 'x', '-i', 'y'], true],
  [['run', 'site', '-v', '-v', '--verbose'], true],
  [['run', '-i', 'x', 'site', '-C', '-D', '--json', '-f', '5', '-T', '30', '--tags', 'a', 'b', '--skip-tags', 'c'], true],
  [['run', 'site', '--serial', '1,5,20%', '--max-fail-percent', '10', '--task-timeout', '60', '-k', '-K', '--accept-new-host-keys'], true],
  [['run', 'site', '--conn-pass-file', 'p', '--become-password-file', 'b', '--connection-password-file', 'q'], true],
  [['run', 'playbooks/site.yml', '--forks', '0'], true],
  [['run', 'verify', '--report', 'cluster.html', '--json', '-i', 'inv'], true],
  [['run', 'verify', '--report'], false],
  [['run', '-e', 'a=1', 'site'], false], // the array takes "site": yargs reports the missing playbook
  [['facts', '-i', 'inv', '--json', '-l', 'srv1'], true],
  [['facts'], true],
  [['exec', 'all', '-i', 'inv', '--', 'uname', '-r'], true],
  [['exec', 'all', 'uname', '-a'], false],
  [['exec', 'all', 'uname'], true],
  [['exec', 'all', '--'], true],
  [['exec', 'all', '--', 'sleep', '5'], false],
  [['exec', 'srv*', '-vvv', '-f', '2', '--', 'ls'], true],
  [['lab', 'up'], true],
  [['lab', 'up', '--servers', '2', '--clients', '3', '--state-dir', '/tmp/x'], true],
  [['lab', 'up', '--vm', '--vm-modules', '--server-release', 'bookworm', '--client-release', 'trixie-backports'], true],
  [['lab', 'status'], true],
  [['lab', 'up', '--vm', '--rdma-links', '2'], true],
  [['lab', 'up', '--vm', '--rdma-links', '3'], false],
  [['lab', 'sideways'], false],
  [['lab', 'up', '--server-release', 'sid'], false],
  [['lab', 'up', '--servers', '05'], false],
  [['lab', 'up', '--server-release', '5'], false],
  [['lab', 'up', '--client-release'], false],
  [['lab'], false],
  [['inventory'], false],
  [['inventory', '--list', 'true'], false],
  [['inventory', '--list', '--list'], false],
  [['inventory', '--list=true'], false],
  [['inventory', '--no-list', '--graph'], false],
  [['inventory', '--list', '-i'], false],
  [['inventory', '--list', '-i', '-x'], false],
  [['inventory', '--list', '--help'], false],
  [['inventory', '--list', '--version'], false],
  [['inventory', '--list', '-e', '-1'], false],
  [['inventory', '--list', 'extra'], false],
  [['inventory', '--list', '--extraVars', 'a=1'], false],
  [['inventory', '--list', '-vi', 'x'], false],
  [['inventory', '--list', '-v'], false],
  [['run', 'site', '--forks', 'many'], false],
  [['run', 'site', '--forks', '1', '--forks', '2'], false],
  [['run', '123'], false],
  [['run', 'site', 'more'], false],
  [['-i', 'x', 'inventory', '--list'], false],
  [['--help'], false],
  [[], false],
];

/** What yargs hands the handler for `args`, or its failure message. */
async function yargsArgv(args: string[]): Promise<{ argv?: unknown; failed?: string }> {
  let argv: unknown;
  const capture: CommandDef[] = COMMANDS.map((c) => ({ ...c, handler: (a: unknown) => void (argv = a) }));
  const exit = process.exit;
  const write = process.stderr.write;
  let failed: string | undefined;
  process.exit = ((code?: number) => { throw new Error(`exit ${code}`); }) as typeof process.exit;
  process.stderr.write = ((s: string) => ((failed = (failed ?? '') + s), true)) as typeof process.stderr.write;
  try {
    await yargsCli(args, capture).exitProcess(false).parseAsync();
  } catch (e) {
    failed ??= String(e);
  } finally {
    process.exit = exit;
    process.stderr.write = write;
  }
  return failed === undefined ? { argv } : { failed };
}

t.test('fast-argv.ts gives the argv yargs gives, or leaves the line to yargs', async (t) => {
  for (const [args, parsed] of CORPUS) {
    const fast = fastArgv(COMMANDS, args);
    const name = args.join(' ') || '(nothing)';
    if (!parsed) {
      t.equal(fast, undefined, `${name}: left to yargs`);
      continue;
    }
    const y = await yargsArgv(args);
    t.equal(y.failed, undefined, `${name}: yargs parses it`);
    t.ok(fast, `${name}: parsed without yargs`);
    t.strictSame(fast?.argv, y.argv, `${name}: the same argv`);
    t.equal(fast?.command.command.split(' ')[0], args[0]);
  }
});

t.test('the compiled code reads YAML with the one-file yaml, as the package reads it', async (t) => {
  const { YAML } = (await import(new URL('../dist/src/yaml.js', import.meta.url).href)) as { YAML: typeof import('yaml') };
  const plain = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  t.not(YAML, plain, 'not the package from node_modules (npm run build makes dist/vendor/yaml-VERSION.cjs)');
  t.strictSame(Object.keys(YAML), Object.keys(plain), 'the same exports');
  const dirs = ['inventory/example', 'inventory/example/group_vars', 'playbooks'];
  const files = dirs.flatMap((d) => readdirSync(new URL(`../${d}/`, import.meta.url)).filter((f) => f.endsWith('.yml')).map((f) => `${d}/${f}`));
  t.ok(files.length >= 5);
  for (const f of files) {
    const text = readFileSync(new URL(`../${f}`, import.meta.url), 'utf8');
    const opts = { version: '1.1', merge: true } as const;
    t.strictSame(YAML.parseDocument(text, opts).toJS(), plain.parseDocument(text, opts).toJS(), f);
    t.equal(YAML.stringify(YAML.parse(text)), plain.stringify(plain.parse(text)), `${f}, written back`);
  }
  // the CLI reads the inventory with it: the same --list as the modules from src/ (the package)
  const { loadInventory, inventoryList } = await import('../src/inventory/index.js');
  const { redactValue } = await import('../src/secrets.js');
  const list = await run(['inventory', '-i', 'inventory/example', '--list']);
  t.equal(list.code, 0);
  t.strictSame(JSON.parse(list.stdout), redactValue(inventoryList(await loadInventory(join(ROOT, 'inventory/example')))));
});

t.test('the code cache of CommonJS files (code-cache.ts): made by a first run, used by the next, never trusted blindly', async (t) => {
  const { mkdtempSync, chmodSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const cacheRoot = mkdtempSync(join(tmpdir(), 'smbdirect-code-cache-'));
  t.teardown(() => rmSync(cacheRoot, { recursive: true, force: true }));
  const dir = join(cacheRoot, 'code-cache', `${process.version}-${process.arch}`);
  const files = () => { try { return readdirSync(dir).sort(); } catch { return []; } };
  const args = ['inventory', '-i', 'inventory/example', '--list'];
  const env = { SMBDIRECT_CACHE_DIR: cacheRoot };
  const plain = await run(args, { ...env, SMBDIRECT_NO_CODE_CACHE: '1' });
  t.equal(plain.code, 0, plain.stderr);
  t.same(files(), [], 'SMBDIRECT_NO_CODE_CACHE=1: none made');
  const first = await run(args, env);
  t.equal(first.stdout, plain.stdout, 'the first run: the same output');
  const made = files();
  t.ok(made.length > 0 && made.every((f) => f.endsWith('.bin')), `the first run kept ${made.length} file(s)`);
  t.equal((await import('node:fs')).statSync(dir).mode & 0o077, 0, 'in a directory of its own (0700)');
  const second = await run(args, env);
  t.equal(second.stdout, plain.stdout, 'the second run, from the cache: the same output');
  // A cache made from another source (its hash) or V8 garbage: compiled again, and replaced.
  for (const f of made) writeFileSync(join(dir, f), Buffer.alloc(64, 7));
  const spoiled = await run(args, env);
  t.equal(spoiled.stdout, plain.stdout, 'a spoiled cache: the same output');
  t.notOk(made.some((f) => readFileSync(join(dir, f)).equals(Buffer.alloc(64, 7))), 'every spoiled file made again');
  // A directory others may write to is not used.
  rmSync(dir, { recursive: true });
  (await import('node:fs')).mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const open = await run(args, env);
  t.equal(open.stdout, plain.stdout);
  t.same(files(), [], 'a world-writable cache directory: not used');
});
