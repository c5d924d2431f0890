// The engine learns no SMB (#12 item 6): controller-side preparation (e.g. building kernel
// modules) is something a task declares (Task.controllerPrepare) and the engine runs once per run,
// before any host is touched; and nothing under src/engine imports src/smb, src/kernel or tasks/.
// The runner is driven with a fake connection pool: no host, no SSH.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConnectionPool, runPlaybook } from '../src/engine/runner.js';
import type { HostStats, Reporter } from '../src/engine/output.js';
import type { Play, Playbook } from '../src/playbook.js';
import type { Connection, ControllerPrepare, HostSpec, Inventory, PrepareHost, RunOutput, Task, Vars } from '../src/types.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Every module specifier a file imports (static, type-only, re-exports and dynamic import()). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)) found.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  return found;
}

t.test('the import scanner sees every form of import', async (t) => {
  const text = "import a from './a.js';\nimport type { B } from \"../b.js\";\nimport {\n  c,\n  d,\n} from '../c.js';\nexport { e } from './e.js';\nimport './side.js';\nconst f = await import('../f.js');\n// import nothing from a comment's words\n";
  t.same(importsOf(text).sort(), ['../b.js', '../c.js', '../f.js', './a.js', './e.js', './side.js']);
});

t.test('nothing under src/engine imports from src/smb, src/kernel or tasks/', async (t) => {
  const dir = join(ROOT, 'src/engine');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ts|mts|js|mjs)$/.test(f));
  t.ok(files.length >= 5, `src/engine has its modules (${files.length})`);
  for (const f of files) {
    const file = join(dir, f);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue; // packages and node: builtins
      const target = relative(ROOT, resolve(dirname(file), spec));
      t.notOk(/^(src\/smb|src\/kernel|tasks)(\/|$)/.test(target), `src/engine/${f} imports ${spec} (${target})`);
    }
  }
});

// ---- the prepare mechanism, with a fake pool ----

const GATHER = 'echo gathered';

/** A connection that answers the gather with the host's name and fails anything else (facts, applies), recording every script. */
class FakeConnection implements Connection {
  roundTrips = 0;
  constructor(readonly host: string, private readonly scripts: string[]) {}
  async run(script: string): Promise<RunOutput> {
    this.roundTrips++;
    this.scripts.push(script);
    const ok = script === GATHER;
    const stdout = ok ? `${this.host}\n` : '';
    return { code: ok ? 0 : 1, stdout, stdoutBytes: Buffer.from(stdout), stderr: ok ? '' : 'fake host: no facts here' };
  }
  async close(): Promise<void> {}
}

/** One FakeConnection per host; `unreachable` hosts refuse to connect. */
class FakePool extends ConnectionPool {
  readonly scripts = new Map<string, string[]>();
  constructor(private readonly unreachable: string[] = []) {
    super({ connectTimeoutMs: 1000, acceptNewHostKeys: false });
  }
  override async get(host: HostSpec): Promise<Connection> {
    if (this.unreachable.includes(host.name)) throw new Error(`${host.name}: unreachable`);
    if (!this.scripts.has(host.name)) this.scripts.set(host.name, []);
    return new FakeConnection(host.name, this.scripts.get(host.name)!);
  }
  override async roundTrips(): Promise<Map<string, number>> {
    return new Map([...this.scripts].map(([h, s]) => [h, s.length]));
  }
  override async closeAll(): Promise<void> {}
  /** Every script run on any host other than the gather: fact gathering and applies. */
  others(): string[] {
    return [...this.scripts.values()].flat().filter((s) => s !== GATHER);
  }
}

function inventory(hosts: Record<string, Vars>): Inventory {
  const specs = new Map(Object.entries(hosts).map(([name, vars]) => [name, { name, groups: ['all'], vars } as HostSpec]));
  return { hosts: specs, groups: new Map([['all', { name: 'all', hosts: [...specs.keys()], children: [], vars: {} }]]), source: 'test' };
}

const play = (name: string, hosts: string, tasks: Task[], vars: Vars = {}): Play => ({ name, hosts, vars, tags: [], tasks, handlers: new Map() });

function reporter(): Reporter & { messages: string[]; plays: string[]; stats: Map<string, HostStats> } {
  const r = {
    messages: [] as string[],
    plays: [] as string[],
    stats: new Map<string, HostStats>(),
    play(name: string) { r.plays.push(name); },
    task() {},
    result() {},
    warn() {},
    progress() {},
    message(text: string) { r.messages.push(text); },
    recap(s: Map<string, HostStats>) { r.stats = s; },
  };
  return r;
}

/** A prepare wanted by hosts with `wants_it` set, recording each run() and what it was given. */
function fakePrepare(fail?: string): ControllerPrepare & { calls: PrepareHost[][] } {
  const calls: PrepareHost[][] = [];
  return {
    calls,
    key: 'test: prepare',
    what: 'preparing the test thing',
    interrupted: 'the test thing was dropped',
    wants: (vars) => vars.wants_it === true,
    gather: GATHER,
    async run(hosts, log) {
      calls.push(hosts);
      log(`preparing for ${hosts.map((h) => h.host.name).join(', ')}`);
      if (fail) throw new Error(fail);
    },
  };
}

/** As a playbook loader builds them: each play gets its own copy of the task object. */
const taskWith = (prepare: ControllerPrepare): Task => ({ name: 'test: needs preparing', controllerPrepare: prepare, plan: () => ({ status: 'ok', msg: 'fine' }) });

const run = (pb: Play[], inv: Inventory, pool: FakePool, rep: Reporter, extraVars: Vars = {}) =>
  runPlaybook({ path: 'test.yml', plays: pb } satisfies Playbook, inv, { check: false, tags: [], skipTags: [], forks: 2, connectTimeoutMs: 1000, acceptNewHostKeys: false, extraVars, reporter: rep, pool });

t.test('a prepare two plays declare runs once, before any play, with each wanting host gathered once', async (t) => {
  const prep = fakePrepare();
  const inv = inventory({ a: { wants_it: true }, b: { wants_it: true }, c: {} });
  const pool = new FakePool();
  const rep = reporter();
  const plays = [play('one', 'all', [taskWith(prep)]), play('two', 'a:b', [taskWith(prep), taskWith(prep)])];
  await run(plays, inv, pool, rep);
  t.equal(prep.calls.length, 1, 'run() once');
  t.same(prep.calls[0]!.map((h) => [h.host.name, h.output]), [['a', 'a\n'], ['b', 'b\n']], 'with the wanting hosts and what the gather printed on each');
  t.equal(prep.calls[0]![0]!.vars.wants_it, true, 'and their vars');
  for (const h of ['a', 'b']) t.equal(pool.scripts.get(h)!.filter((s) => s === GATHER).length, 1, `${h}: gathered once`);
  t.notOk(pool.scripts.get('c')?.includes(GATHER), 'c (not wanting it) not gathered');
  t.ok(rep.messages.includes('preparing for a, b'), 'its log goes to the reporter');
  t.ok(rep.plays.length > 0, 'the plays ran afterwards');
});

t.test('play vars and -e count for whether a host wants it', async (t) => {
  const prep = fakePrepare();
  await run([play('one', 'all', [taskWith(prep)], { wants_it: true })], inventory({ a: {}, b: {} }), new FakePool(), reporter());
  t.same(prep.calls.map((c) => c.map((h) => h.host.name)), [['a', 'b']], 'play vars');
  const prep2 = fakePrepare();
  await run([play('one', 'all', [taskWith(prep2)])], inventory({ a: { wants_it: true } }), new FakePool(), reporter(), { wants_it: false });
  t.same(prep2.calls, [], '-e overrides the inventory');
});

t.test('no run() when no host wants it, nor for plays without the task', async (t) => {
  const prep = fakePrepare();
  const pool = new FakePool();
  const rep = reporter();
  await run([play('one', 'all', [taskWith(prep)])], inventory({ a: {}, b: { wants_it: false } }), pool, rep);
  t.same(prep.calls, [], 'not called');
  t.notOk([...pool.scripts.values()].flat().includes(GATHER), 'nothing gathered');
  t.ok(rep.plays.length > 0, 'the play ran');
  const prep2 = fakePrepare();
  const plain: Task = { name: 'plain', plan: () => ({ status: 'ok', msg: 'fine' }) };
  await run([play('one', 'a', [taskWith(prep2)]), play('two', 'b', [plain])], inventory({ a: {}, b: { wants_it: true } }), new FakePool(), reporter());
  t.same(prep2.calls, [], 'b wants it, but no play runs the task on b');
});

t.test('hosts unreachable during the gather are left out silently', async (t) => {
  const prep = fakePrepare();
  const rep = reporter();
  await run([play('one', 'all', [taskWith(prep)])], inventory({ a: { wants_it: true }, b: { wants_it: true } }), new FakePool(['a']), rep);
  t.same(prep.calls.map((c) => c.map((h) => h.host.name)), [['b']]);
  t.notOk(rep.messages.some((m) => /ERROR/.test(m)), 'no error from the prepare');
  const prep2 = fakePrepare();
  await run([play('one', 'all', [taskWith(prep2)])], inventory({ a: { wants_it: true } }), new FakePool(['a']), reporter());
  t.same(prep2.calls, [], 'no reachable host: no run()');
});

t.test('a prepare that throws stops the run before any host is changed', async (t) => {
  const prep = fakePrepare('no compiler');
  const pool = new FakePool();
  const rep = reporter();
  const summary = await run([play('one', 'all', [taskWith(prep)]), play('two', 'all', [taskWith(prep)])], inventory({ a: { wants_it: true }, b: {} }), pool, rep);
  t.equal(prep.calls.length, 1);
  t.equal(summary.code, 1, 'exit 1');
  t.ok(rep.messages.includes('ERROR! preparing the test thing failed; no host was changed: no compiler'), `the message says what failed and why: ${rep.messages.join(' | ')}`);
  t.same(rep.plays, [], 'no play started');
  t.same(pool.others(), [], 'no facts gathered, nothing applied on any host');
});
