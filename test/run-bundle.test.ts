// `run` from the build's one file of our code (scripts/bundle-run.mjs, src/run-bundle.ts, #14)
// behaves as the ES modules do: the same output, exit codes and errors for a check-mode diff, a
// run that changes the hosts, a no-change run and usage errors, on a real lab. A bundle older than
// one of its sources, missing, or turned off, is not loaded, and the run is the same.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchInventory, runCli, startLab, tmp, type CliResult } from './helpers/lab.js';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const BUNDLE = join(DIST, 'bundle', 'run.cjs');
if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: npm run build makes it`);

// Which way the CLI ran: loaded with --require, it writes whether node required the bundle.
const probeDir = tmp('sd-bundle-probe-');
const probe = join(probeDir, 'probe.cjs');
writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT,
  Object.keys(require.cache).includes(${JSON.stringify(BUNDLE)}) ? 'bundle' : 'modules'));\n`);
let runs = 0;
async function cli(args: string[], bundle: boolean): Promise<CliResult & { loaded: string }> {
  const out = join(probeDir, `${++runs}.out`);
  const env = { NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out, SMBDIRECT_NO_BUNDLE: bundle ? '' : '1' };
  const r = await runCli(args, { env });
  return { ...r, loaded: readFileSync(out, 'utf8') };
}

/** The same command both ways: identical stdout, stderr and exit code; each loaded its way. */
async function same(t: Test, args: string[], first: 'bundle' | 'modules' = 'modules'): Promise<CliResult> {
  const a = await cli(args, first === 'bundle');
  const b = await cli(args, first !== 'bundle');
  const [bundled, modules] = first === 'bundle' ? [a, b] : [b, a];
  t.equal(bundled.loaded, 'bundle', 'the bundle ran');
  t.equal(modules.loaded, 'modules', 'SMBDIRECT_NO_BUNDLE=1: the ES modules ran');
  t.equal(bundled.code, modules.code, `the same exit code (${modules.code})`);
  t.equal(bundled.stdout, modules.stdout, 'the same output');
  t.equal(bundled.stderr, modules.stderr, 'the same errors');
  return bundled;
}

const lab = await startLab(t, 1, 1);
const inv = benchInventory(lab);
const site = ['run', 'site', '-i', inv, '-e', 'smbdirect_kernel_policy=warn'];

t.test('check mode with diffs, then the changes, then no change: the same both ways', async (t) => {
  const check = await same(t, [...site, '--check', '--diff', '--json']);
  t.match(check.stdout, /"status":"changed"/, 'check mode found changes');
  // the changes themselves, by the bundle; the ES modules then find nothing to do, and vice versa
  const first = await cli([...site, '--json'], true);
  t.equal(first.loaded, 'bundle');
  t.ok([0, 2].includes(first.code), `first run: exit ${first.code} (verify fails in the lab) ${first.stderr}`);
  const second = await same(t, [...site, '--json'], 'bundle');
  t.match(second.stdout, /"changed":0/, 'no change');
  await same(t, [...site, '--diff']); // the human output too
});

t.test('errors and usage errors: the same both ways', async (t) => {
  await same(t, ['run', 'no-such-playbook', '-i', inv]);
  await same(t, [...site, '--no-such-option']);
  await same(t, ['run', 'site', '-i', join(probeDir, 'missing.yml')]);
});

t.test('a bundle older than one of its sources is not used', async (t) => {
  const input = join(DIST, 'src', 'smb', 'vars.js');
  const before = statSync(input);
  t.teardown(() => utimesSync(input, before.atime, before.mtime));
  const built = statSync(BUNDLE).mtime;
  utimesSync(input, before.atime, new Date(built.getTime() + 2000));
  const stale = await cli([...site, '--json'], true);
  t.equal(stale.loaded, 'modules', 'the ES modules ran');
  utimesSync(input, before.atime, before.mtime);
  const fresh = await cli([...site, '--json'], true);
  t.equal(fresh.loaded, 'bundle', 'with the source as built, the bundle again');
  t.equal(stale.code, fresh.code, 'the same exit code');
  t.equal(stale.stdout, fresh.stdout, 'the same output');
});

t.test('without the bundle (a build by tsc alone), the ES modules', async (t) => {
  const aside = `${BUNDLE}.aside`;
  renameSync(BUNDLE, aside);
  t.teardown(() => existsSync(aside) && renameSync(aside, BUNDLE));
  const without = await cli([...site, '--json'], true);
  renameSync(aside, BUNDLE);
  const fresh = await cli([...site, '--json'], true);
  t.equal(without.loaded, 'modules', 'the ES modules ran');
  t.equal(fresh.loaded, 'bundle', 'the bundle back: used again');
  t.equal(without.code, fresh.code, 'the same exit code');
  t.equal(without.stdout, fresh.stdout, 'the same output');
});
