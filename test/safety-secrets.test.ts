// Safety, secrets: during full `site` runs on the lab (policy warn) the password appears in no
// process's argv or environment on any lab host (sampled from the controller's /proc, processes
// whose root is inside the lab), not in the controller's own argv, not in stdout/stderr at -vvv,
// with --diff, with --json, and not in any file the run wrote on the controller (kconfig fragments,
// the --report page).
// On the hosts it exists only in the credentials files (0600 root) and, as an NT hash, in
// ksmbdpwd.db (0600): every file of each host's overlay upper dir is scanned for its bytes.
import t from 'tap';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runCli, startLab, tmp } from './helpers/lab.js';
import { ntHash } from '../src/smb/md4.js';
import { jsonLineStrings } from './helpers/json.js';
import { esc } from '../src/engine/report-html.js';

const PASSWORD = `Sécr3t'"$(whoami)\`id\`;#=,\\ end`;
const PW_BYTES = Buffer.from(PASSWORD, 'utf8');
const lab = await startLab(t, 1, 2);
const hosts = ['srv01', 'cli01', 'cli02'];
const dir = tmp('sd-safety-secrets-');
writeFileSync(join(dir, 'hosts.yml'), readFileSync(lab.inventory));
mkdirSync(join(dir, 'group_vars'));
writeFileSync(join(dir, 'alice.pw'), `${PASSWORD}\n`, { mode: 0o600 });
writeFileSync(join(dir, 'group_vars', 'all.yml'), `smbdirect_kernel_policy: warn
smbdirect_fragment_dir: ${dir}/kconfig
ksmbd_users:
  - name: alice
    password_file: alice.pw
  - name: bob
    password_env: SAFETY_BOB_PW
`);
writeFileSync(join(dir, 'group_vars', 'smb_servers.yml'), 'ksmbd_shares:\n  - { name: data, path: /srv/smb/data }\n');
writeFileSync(join(dir, 'group_vars', 'smb_clients.yml'), `smb_mounts:
  - { server: srv01, share: data, path: /mnt/data, user: alice }
  - { server: srv01, share: data, path: /mnt/bob, user: bob }
`);
const BOB = 'b0b-$(env)-`x`-ü';
const inv = join(dir, 'hosts.yml');
const secrets = [PASSWORD, BOB];

/** Every process whose root is inside the lab, plus our own CLI children: argv and environment. */
function sampleProcesses(into: Map<number, string>, also: Set<number>): void {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const rootLink = readlinkSync(`/proc/${pid}/root`);
      if (!rootLink.startsWith(lab.stateDir) && !also.has(pid)) continue;
      const text = `${readFileSync(`/proc/${pid}/cmdline`, 'latin1')}\n${readFileSync(`/proc/${pid}/environ`, 'latin1')}`;
      into.set(pid * 1000 + (into.size % 1000), text);
    } catch { /* gone */ }
  }
}

async function runSampled(args: string[]): Promise<{ code: number; out: string; stdout: string; samples: Map<number, string>; rounds: number }> {
  const samples = new Map<number, string>();
  let rounds = 0;
  let running = true;
  const cliPids = new Set<number>();
  const sampler = (async () => {
    while (running) {
      // Our CLI processes: children of this test process running dist/src/cli.js.
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('dist/src/cli.js')) cliPids.add(Number(name));
        } catch { /* gone */ }
      }
      sampleProcesses(samples, cliPids);
      rounds++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const r = await runCli(args, { env: { SAFETY_BOB_PW: BOB } });
  running = false;
  await sampler;
  return { code: r.code, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout, samples, rounds };
}

function filesUnder(d: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const binaryIncludes = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));

t.test('the sampler sees the argv of commands running inside lab hosts (positive control)', async (t) => {
  const canary = `CANARY-${process.pid}`;
  const r = await runSampled(['exec', 'all', '-i', inv, '--', `sh -c 'sleep 3' ${canary}`]);
  t.equal(r.code, 0, r.out.slice(-800));
  const hits = [...r.samples.values()].filter((x) => x.split('\n')[0]!.includes(canary) && !x.includes('dist/src/cli.js'));
  t.ok(hits.length > 0, `a lab host's process with the canary in its argv was sampled (${hits.length} snapshots)`);
});

t.test('no password in process tables, argv, output, --diff, --json, or local files', async (t) => {
  const runs = [
    ['run', 'site', '-i', inv, '-vvv', '--diff'],
    ['run', 'site', '-i', inv, '--json', '-vvv'],
    ['run', 'teardown', '-i', inv, '--json', '--diff', '-vvv'],
    ['run', 'site', '-i', inv, '--diff', '-vvv', '--report', join(dir, 'report.html')],
  ];
  let total = 0;
  for (const args of runs) {
    const r = await runSampled(args);
    // site ends with verify's exit 2 on the lab by design (the kernel lacks SMB Direct); teardown exits 0.
    t.equal(r.code, args[1] === 'teardown' ? 0 : 2, `${args.slice(1).join(' ')}: exit code\n${r.out.slice(-1500)}`);
    t.ok(r.samples.size > 0 && r.rounds > 3, `${args.slice(1, 2)}: sampled ${r.rounds} rounds, ${r.samples.size} process snapshots`);
    total += r.samples.size;
    // JSON escapes the password's " and \: search what a JSON reader gets, the decoded values.
    const jsonValues = args.includes('--json') ? jsonLineStrings(r.stdout) : [];
    if (args.includes('--json')) t.ok(jsonValues.length > 0, `${args.slice(1).join(' ')}: JSON lines decoded`);
    for (const s of secrets) {
      t.notOk(r.out.includes(s), `${args.join(' ')}: no password in stdout/stderr`);
      t.same(jsonValues.filter((v) => v.includes(s)), [], `${args.join(' ')}: no password in any decoded JSON value`);
      const leaked = [...r.samples.values()].filter((x) => x.includes(s) || x.includes(Buffer.from(s).toString('latin1')));
      // The controller's environment carries SAFETY_BOB_PW by design (password_env): only lab processes count for BOB.
      t.same(leaked.filter((x) => !(s === BOB && x.includes('dist/src/cli.js'))), [], `${args[1]}: no password in any sampled argv/environment`);
    }
    const argvOnly = [...r.samples.values()].map((x) => x.split('\n')[0]!);
    for (const s of secrets) t.notOk(argvOnly.some((a) => a.includes(s)), 'no password in any argv (controller included)');
  }
  t.comment(`process snapshots taken: ${total}`);
  const report = readFileSync(join(dir, 'report.html'), 'utf8');
  t.match(report, /<table class="matrix">/, 'the --report page was written');
  for (const s of secrets) t.notOk(report.includes(s) || report.includes(esc(s)), 'no password in the --report page, raw or HTML-escaped');
  for (const f of filesUnder(join(dir, 'kconfig'))) {
    const buf = readFileSync(f);
    for (const s of secrets) t.notOk(binaryIncludes(buf, s), `${relative(dir, f)} has no password`);
  }
});

t.test('on the hosts the password exists only in the credentials files and as NT hashes in ksmbdpwd.db', async (t) => {
  for (const h of hosts) {
    const upper = join(lab.stateDir, 'hosts', h, 'upper');
    const holders: string[] = [];
    for (const f of filesUnder(upper)) {
      const buf = readFileSync(f);
      if (secrets.some((s) => binaryIncludes(buf, s) || buf.includes(Buffer.from(s, 'utf16le')) || binaryIncludes(buf, Buffer.from(s).toString('base64'))))
        holders.push(relative(upper, f));
    }
    const expected = h.startsWith('cli') ? ['etc/smbdirect-provision/credentials/srv01@alice', 'etc/smbdirect-provision/credentials/srv01@bob'] : [];
    t.same(holders.sort(), expected, `${h}: files holding a password`);
    for (const f of expected) {
      const st = statSync(join(upper, f));
      t.equal(st.mode & 0o777, 0o600, `${h}:${f} is 0600`);
      t.equal(st.uid, 0, `${h}:${f} is root's`);
      t.equal(lstatSync(join(upper, 'etc/smbdirect-provision/credentials')).mode & 0o077, 0, `${h}: credentials dir closed to others`);
    }
    if (h === 'srv01') {
      const db = join(upper, 'etc/ksmbd/ksmbdpwd.db');
      t.equal(statSync(db).mode & 0o777, 0o600, 'ksmbdpwd.db is 0600');
      t.equal(readFileSync(db, 'utf8'), `alice:${ntHash(PASSWORD).toString('base64')}\nbob:${ntHash(BOB).toString('base64')}\n`, 'NT hashes only');
    }
  }
});
