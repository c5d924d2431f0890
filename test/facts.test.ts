// factsScript() run for real with sh on this machine, and parseFacts() on what it prints.
import t, { type Test } from 'tap';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { factsScript, parseFacts, systemOf, FactsError, MAX_READ_BYTES, type FactsRequest } from '../src/facts/index.js';
import type { Facts } from '../src/types.js';
import { fixtureOutput, loadFixtureFacts, FIXTURE_DIR, FIXTURE_NAMES, FIXTURE_REQUEST, HAND_WRITTEN } from './fixtures/facts/index.js';

function runSh(script: string, shell = 'sh'): { stdout: string; status: number | null; stderr: string } {
  const r = spawnSync(shell, [], { input: script, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { stdout: r.stdout, status: r.status, stderr: r.stderr };
}

/** As the engine does: stdout as bytes (file contents travel raw). */
function gather(req: FactsRequest & { system?: boolean }, shell = 'sh'): Facts {
  const out = spawnSync(shell, [], { input: factsScript(req), maxBuffer: 64 * 1024 * 1024 });
  return parseFacts(out.stdout, req);
}

function commIs(pid: number, comm: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
  } catch {
    return false;
  }
}

const sh = (cmd: string): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();

/**
 * The facts' interfaces against a live `ls /sys/class/net`. Other namespaces' veths and bridges
 * come and go in this namespace while tests and labs run beside this one, so one `ls` after the
 * gather may differ for no fault of the facts: gather between two `ls` that agree, and compare
 * with them, until they do. The deadline only detects a hang (facts that never agree fail there).
 */
async function stableNetdevs(t: Test): Promise<string> {
  const ls = (): string[] => readdirSync('/sys/class/net').sort();
  const deadline = Date.now() + 120_000;
  let last = '';
  for (let i = 1; Date.now() < deadline; i++) {
    const before = ls();
    const s = systemOf(parseFacts(runSh(factsScript({ reads: [], probes: {} })).stdout, { reads: [], probes: {} }));
    const after = ls();
    const got = s.net.netdevs.map((d) => d.name).sort();
    if (before.join() === after.join() && got.join() === before.join()) {
      if (i > 1) t.comment(`interfaces agreed on try ${i}`);
      return 'stable';
    }
    last = `before ${before.join(' ')}\nfacts  ${got.join(' ')}\nafter  ${after.join(' ')}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  return `never agreed:\n${last}`;
}

t.test('system facts gathered here match what the machine says', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const server6 = createServer();
  await new Promise<void>((resolve) => server6.listen(0, '::1', resolve));
  t.teardown(() => { server.close(); udp.close(); server6.close(); });
  const tcpPort = (server.address() as { port: number }).port;
  const tcp6Port = (server6.address() as { port: number }).port;
  const udpPort = udp.address().port;

  const r = runSh(factsScript({ reads: [], probes: {} }));
  t.equal(r.status, 0, 'the script exits 0');
  const s = systemOf(parseFacts(r.stdout, { reads: [], probes: {} }));
  t.equal(s.kernel.release, sh('uname -r'));
  t.equal(s.kernel.arch, sh('uname -m'));
  t.equal(s.kernel.version, sh('uname -v'));
  t.equal(`${s.kernel.major}.${s.kernel.minor}`, /^\d+\.\d+/.exec(sh('uname -r'))?.[0]);
  t.equal(s.distro.id, sh('. /etc/os-release && echo "$ID"'));
  t.equal(s.host.uid, Number(sh('id -u')));
  t.equal(s.host.user, sh('id -un'));
  const lo = s.net.netdevs.find((d) => d.name === 'lo');
  t.ok(lo?.addrs.some((a) => a.address === '127.0.0.1' && a.prefix === 8), 'lo has 127.0.0.1/8');
  t.ok(s.ports.tcp.includes(tcpPort), `our TCP listener on ${tcpPort} is seen`);
  t.ok(s.ports.udp.includes(udpPort), `our UDP socket on ${udpPort} is seen`);
  t.same(s.ports.listeners.filter((l) => l.port === tcp6Port), [{ proto: 'tcp', address: '[::1]', port: tcp6Port }], 'an IPv6 listener, written as ss writes it');
  t.same(s.ports.listeners.filter((l) => l.port === tcpPort), [{ proto: 'tcp', address: '127.0.0.1', port: tcpPort }]);
  t.equal(s.dmesg.bootTime, Number(sh("awk '/^btime/ { print $2 }' /proc/stat")));
  t.ok(s.dmesg.now !== null && Math.abs(s.dmesg.now - Date.now() / 1000) < 60, 'host clock read');
  t.equal(s.kconfig.source === null, sh('[ -r "/boot/config-$(uname -r)" ] || [ -r /proc/config.gz ] && echo y || echo n') === 'n');
  t.same(await stableNetdevs(t), 'stable', 'interfaces: what /sys/class/net lists'); // last: it may gather again
});

t.test('a process named ksmbd.mountd is seen in /proc with its start time', async (t) => {
  const dir = t.testdir({});
  const fake = join(dir, 'ksmbd.mountd');
  copyFileSync(sh('command -v sleep'), fake);
  chmodSync(fake, 0o755);
  const child = spawn(fake, ['30'], { stdio: 'ignore' });
  t.teardown(() => { child.kill(); });
  for (let i = 0; i < 100 && !commIs(child.pid!, 'ksmbd.mountd'); i++) await new Promise((r) => setTimeout(r, 50));
  const s = systemOf(gather({ reads: [], probes: {} }));
  const p = s.services.ksmbdProcesses.find((x) => x.pid === child.pid);
  t.ok(p, 'found by pid');
  t.equal(p?.comm, 'ksmbd.mountd');
  t.ok(p?.startedAt !== null && Math.abs(p!.startedAt! - Date.now() / 1000) < 30, `start time ${p?.startedAt} is about now`);
  t.equal(s.services.ksmbdRunning, true);
});

t.test('reads: one content stream split by size; names with newlines and trailing blanks; a size change is refused', async (t) => {
  const dir = t.testdir({ 'a': 'first\n', 'nl\nname': 'second\n', 'trail ': 'third', 'd': {} });
  const reads = ['a', 'nl\nname', 'missing', 'trail ', 'd', 'a'].map((n) => join(dir, n));
  const req = { reads, probes: {}, system: false };
  const out = runSh(factsScript(req)).stdout;
  const f = parseFacts(out, req);
  t.same(reads.map((p) => f.files[p]!.content), ['first\n', 'second\n', undefined, 'third', undefined, 'first\n']);
  t.same(reads.map((p) => f.files[p]!.exists), [true, true, false, true, true, true]);
  // The same output with one size that no longer matches its content (the file grew meanwhile).
  t.same([f.files[reads[0]!]!.uid, f.files[reads[0]!]!.gid], [String(process.getuid!()), String(process.getgid!())], 'numeric ids beside the names');
  const tampered = out.replace(/stat (\d+ \S+ \S+ \d+ \d+) 6\n/, 'stat $1 9\n');
  t.not(tampered, out);
  t.throws(() => parseFacts(tampered, req), { name: 'FactsError', message: /changed while its facts were read|changed while facts were read/ });
});

t.test('reads: content survives any bytes, state is exact, missing is missing', async (t) => {
  const tricky = "line 1\n'single' \"double\" `tick` $(echo no) $HOME \\back\\slash\n\tunicode: é ü 漢字 🚀\n\nno final newline";
  const dir = t.testdir({
    'tricky.txt': tricky,
    "name with spaces and 'quote'": 'x\n',
    'empty': '',
    'sub': { 'f': 'y' },
  });
  const big = join(dir, 'big');
  writeFileSync(big, Buffer.alloc(MAX_READ_BYTES + 1, 'a'));
  const exact = join(dir, 'exact');
  writeFileSync(exact, Buffer.alloc(MAX_READ_BYTES, 'b'));
  chmodSync(join(dir, 'tricky.txt'), 0o640);
  const reads = ['tricky.txt', "name with spaces and 'quote'", 'empty', 'sub', 'missing', 'big', 'exact'].map((n) => join(dir, n));
  const f = gather({ reads, probes: {}, system: false });
  const [tr, spaced, empty, sub, missing, bigS, exactS] = reads.map((p) => f.files[p]!);
  t.equal(tr!.content, tricky);
  t.equal(tr!.mode, '0640');
  t.equal(tr!.owner, userInfo().username);
  t.equal(tr!.group, sh('id -gn'));
  t.equal(tr!.isDir, false);
  t.equal(spaced!.content, 'x\n');
  const emptyMode = `0${(statSync(reads[2]!).mode & 0o7777).toString(8)}`;
  t.same(empty, { path: reads[2], exists: true, isDir: false, mode: emptyMode, owner: userInfo().username, group: sh('id -gn'), uid: sh('id -u'), gid: sh('id -g'), content: '',
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }); // of no bytes: what the apply compares with (#16)
  t.equal(sub!.isDir, true);
  t.equal(sub!.content, undefined, 'no content for a directory');
  t.same(missing, { path: reads[4], exists: false });
  t.equal(bigS!.exists, true);
  t.equal(bigS!.content, undefined, 'no content above 1 MiB');
  t.equal(exactS!.content?.length, MAX_READ_BYTES, 'exactly 1 MiB is read');
  t.same(f.system, {}, 'system: false gathers no system facts');
});

t.test('reads: raw bytes (not UTF-8, NUL, CR) keep their sizes; the text is their UTF-8 reading', async (t) => {
  const dir = t.testdir({});
  const bin = Buffer.from([0xff, 0x00, 0xc3, 0x0d, 0x0a, 0x41]);
  writeFileSync(join(dir, 'bin'), bin);
  writeFileSync(join(dir, 'after'), 'é\n');
  const reads = [join(dir, 'bin'), join(dir, 'after')];
  const f = gather({ reads, probes: {}, system: false });
  t.equal(f.files[reads[0]!]!.content, bin.toString('utf8'));
  t.equal(f.files[reads[1]!]!.content, 'é\n', 'the next file starts where the sizes say');
});

t.test('reads: a path ending in "/" lists the directory (dot files, blanks, a dangling link; no newline names)', async (t) => {
  const dir = t.testdir({ 'sub': { '.hidden': 'h', '..twodots': 'x', 'a b ': 'y', 'nl\nname': 'z', 'inner': {}, 'dangling': t.fixture('symlink', 'nowhere') }, 'file': 'f' });
  const reads = [join(dir, 'sub') + '/', join(dir, 'sub'), join(dir, 'file') + '/', join(dir, 'missing') + '/'];
  const f = gather({ reads, probes: {}, system: false });
  t.same(f.files[reads[0]!]!.entries, ['..twodots', '.hidden', 'a b ', 'dangling', 'inner'], 'sorted, . and .. left out');
  t.equal(f.files[reads[0]!]!.isDir, true);
  t.equal(f.files[reads[1]!]!.entries, undefined, 'no entries without the trailing "/"');
  t.same(f.files[reads[2]!], { path: reads[2], exists: false }, 'a file is not a directory');
  t.same(f.files[reads[3]!], { path: reads[3], exists: false });
});

t.test('as a user who may not read the kernel log: dmesg unreadable (or readable, as dmesg says), user and uid', async (t) => {
  const asNobody = (input: string) => spawnSync('runuser', ['-u', 'nobody', '--', 'sh'], { input, encoding: 'utf8' });
  const probe = asNobody('dmesg >/dev/null 2>&1; echo $?');
  t.equal(probe.status, 0, `runuser works here: ${probe.stderr}`);
  const r = asNobody(factsScript({ reads: [], probes: {} }));
  const s = systemOf(parseFacts(r.stdout, { reads: [], probes: {} }));
  t.equal(s.dmesg.readable, probe.stdout.trim() === '0', `dmesg as nobody exits ${probe.stdout.trim()}`);
  t.equal(s.dmesg.note === null, s.dmesg.readable);
  t.equal(s.host.user, 'nobody');
  t.equal(s.host.uid, Number(sh('id -u nobody')));
});

t.test('kernel config: read once per boot and source; "cached" stands for what the controller kept', async (t) => {
  const req = { reads: [], probes: {} };
  const first = gather(req);
  const k = systemOf(first).kconfig;
  if (k.source === null) {
    t.equal(first.kconfigRead, undefined, 'nothing to keep when no config could be read');
  } else {
    t.same(first.kconfigRead && { bootId: first.kconfigRead.bootId, source: first.kconfigRead.source },
      { bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), source: k.source });
    const out = spawnSync('sh', [], { input: factsScript({ ...req, kconfig: first.kconfigRead }) }).stdout;
    t.match(out.toString(), /\ncached \S+ /, 'the host answers "as before"');
    const again = parseFacts(out, { ...req, kconfig: first.kconfigRead });
    t.same(systemOf(again).kconfig, k, 'the same options, from the kept text');
    t.equal(again.kconfigRead, undefined, 'nothing new to keep');
    const otherBoot = { ...first.kconfigRead!, bootId: '00000000-0000-0000-0000-000000000000' };
    const fresh = gather({ ...req, kconfig: otherBoot });
    t.same(systemOf(fresh).kconfig, k, 'another boot id: read again');
    t.equal(fresh.kconfigRead?.bootId, first.kconfigRead!.bootId);
    t.throws(() => parseFacts(out, req), { name: 'FactsError', message: /did not ask about/ }, '"cached" without a kept text is refused');
  }
});

t.test('probes: stdout and exit code, exit and syntax errors stay contained', async (t) => {
  const probes = {
    three: 'echo out; echo err >&2; exit 3',
    exits: 'exit',
    exit7: 'exit 7',
    syntax: 'if then fi (',
    stdin: 'cat',
    newlines: "printf 'a\\n\\n\\n'",
    quotes: `printf '%s' "it's \\"quoted\\" é"`,
    missing: 'no-such-command-xyz',
    after: 'echo still here',
  };
  const r = runSh(factsScript({ reads: [], probes }));
  t.equal(r.status, 0);
  const f = parseFacts(r.stdout, { reads: [], probes });
  t.same(f.probes.three, { code: 3, stdout: 'out\n' });
  t.same(f.probes.exits, { code: 0, stdout: '' });
  t.same(f.probes.exit7, { code: 7, stdout: '' });
  t.equal(f.probes.syntax!.code, 2);
  t.same(f.probes.stdin, { code: 0, stdout: '' }, 'a probe reading stdin gets /dev/null, not the script');
  t.same(f.probes.newlines, { code: 0, stdout: 'a\n\n\n' }, 'trailing newlines kept');
  t.same(f.probes.quotes, { code: 0, stdout: 'it\'s "quoted" é' });
  t.equal(f.probes.missing!.code, 127);
  t.same(f.probes.after, { code: 0, stdout: 'still here\n' });
  t.ok('kernel' in f.system, 'system facts still gathered after the probes');
});

t.test('probe sections follow sorted names, not object key order', async (t) => {
  const out = runSh(factsScript({ reads: [], probes: { b: 'echo B', a: 'echo A' }, system: false })).stdout;
  const f = parseFacts(out, { reads: [], probes: { a: 'echo A', b: 'echo B' } });
  t.equal(f.probes.a!.stdout, 'A\n');
  t.equal(f.probes.b!.stdout, 'B\n');
});

t.test('the script runs the same under dash and bash --posix', async (t) => {
  const req = { reads: ['/etc/os-release', '/nonexistent'], probes: { p: 'echo hi; exit 4' } };
  for (const shell of ['dash', 'bash']) {
    const args = shell === 'bash' ? ['--posix'] : [];
    const r = spawnSync(shell, args, { input: factsScript(req), encoding: 'utf8' });
    const f = parseFacts(r.stdout, req);
    t.equal(r.status, 0, `${shell} exits 0`);
    t.same(f.probes.p, { code: 4, stdout: 'hi\n' }, shell);
    t.equal(f.files['/etc/os-release']!.exists, true, shell);
    t.equal(systemOf(f).kernel.release, sh('uname -r'), shell);
  }
});

t.test('the script is read-only and POSIX in spirit', async (t) => {
  const script = factsScript({ reads: ['/etc/fstab'], probes: {} });
  const redirs = [...script.matchAll(/\d*>>?\s*(&\d|[^\s;)]+)/g)].map((m) => m[0]);
  t.ok(redirs.length > 0);
  for (const r of redirs) t.match(r, /^\d*>(\/dev\/null|&[12])$/, `only /dev/null or fd dups: ${r}`);
  t.notMatch(script, />>/, 'no appends');
  const writers = /\b(rm|mv|cp|tee|mkdir|rmdir|touch|ln|dd|truncate|chmod|chown|modprobe|insmod|rmmod|mount|umount|sysctl|kill)\b|sed\s+-i|systemctl\s+(start|stop|restart|reload|enable|disable|daemon-reload|mask)|(rdma|ip)\s+\S+\s+(add|del|set)\b/;
  // The one signal it sends: to its own statfs of a mount that does not answer ($p is a $! of its own).
  t.match(script, /stat -f -- "\$p" >\/dev\/null 2>&1 &\n\s*L="\$L\$! /, 'the PIDs it checks and kills are those of its own statfs');
  // The one dd: it gathers the output into full blocks on its way to stdout (no of=, no file).
  const coalesce = /\| \{ dd bs=\d+ iflag=fullblock 2>\/dev\/null \|\| cat; \}\n/;
  t.match(script, coalesce, 'the output leaves through dd to stdout, cat where dd cannot');
  t.notMatch(script, /\bof=/, 'dd writes no file');
  t.notMatch(script.replace(/kill -[09] "\$p"/g, '').replace(coalesce, '\n'), writers, 'no command that changes the host');
  t.notMatch(script, /\[\[|<<<|(^|[\s=(])\$'|==|(^|[;&|{]\s*)(source|function|local|declare|typeset)\s/m, 'no bash-isms');
  t.equal(spawnSync('dash', ['-n'], { input: script }).status, 0, 'dash parses it');
});

t.test('output framing: noise before, fake markers inside, cut short', async (t) => {
  const good = fixtureOutput('rhel9');
  const withMotd = `Welcome to rhel9!\nLast login: yesterday${good}`;
  t.equal(systemOf(parseFacts(withMotd, FIXTURE_REQUEST)).kernel.major, 5, 'login noise before the output is ignored');

  const nonce = /@@smbdirect@@ (\S+) begin/.exec(good)![1];
  const forged = good.replace(`${nonce} dmesg\nreadable\n`, `${nonce} dmesg\nreadable\n@@smbdirect@@ 0000 end\n@@smbdirect@@ 0000 kernel\n`);
  const s = systemOf(parseFacts(forged, FIXTURE_REQUEST));
  t.equal(s.kernel.release, '5.14.0-503.14.1.el9_5.x86_64', 'a fake marker with another nonce cannot replace a section');
  t.ok(s.dmesg.lines.some((l) => l.text === '@@smbdirect@@ 0000 kernel'), 'it stays a dmesg line');

  const cut = good.slice(0, good.indexOf(`${nonce} firewall`));
  t.throws(() => parseFacts(cut, FIXTURE_REQUEST), FactsError, 'no end marker: cut short');
  t.throws(() => parseFacts('bash: sh: command not found\n', FIXTURE_REQUEST), FactsError, 'not facts output');
  t.throws(() => parseFacts(good, { reads: [...FIXTURE_REQUEST.reads, '/x'], probes: {} }), FactsError, 'request mismatch');
});

t.test('requests are checked', async (t) => {
  t.throws(() => factsScript({ reads: ['etc/fstab'], probes: {} }), FactsError, 'relative path');
  t.throws(() => factsScript({ reads: [], probes: { x: '  ' } }), FactsError, 'empty probe');
  t.throws(() => factsScript({ reads: ['/a\0b'], probes: {} }), /NUL/, 'NUL byte');
  t.throws(() => systemOf({ system: {}, files: {}, probes: {} }), FactsError);
  t.notMatch(factsScript({ reads: [], probes: {}, system: false }), /sec kernel/);
});

t.test('a fresh dir read gives owner and group names', async (t) => {
  const dir = t.testdir({});
  mkdirSync(join(dir, 'd'), { mode: 0o750 });
  const p = join(dir, 'd');
  const f = gather({ reads: [p], probes: {}, system: false });
  t.match(f.files[p], { exists: true, isDir: true, mode: '0750', owner: userInfo().username });
});

t.test('every fixture has exactly the sections the current script prints, reads included', async (t) => {
  // File contents have travelled three ways (a file.N.content section per file, then one base64
  // files.blob, now one raw files.raw stream); the parser reads all three, so they count as one.
  const CONTENTS = /^(file\.\d+\.content|files\.blob|files\.raw)$/;
  const names = (out: string): string[] => {
    const nonce = /@@smbdirect@@ (\S+) begin/.exec(out)![1];
    const all = [...out.matchAll(new RegExp(`\\n@@smbdirect@@ ${nonce} (\\S+)\\n`, 'g'))].map((m) => m[1]!);
    return [...all.filter((n) => !CONTENTS.test(n)), ...(all.some((n) => CONTENTS.test(n)) ? ['(contents)'] : [])];
  };
  const now = names(runSh(factsScript(FIXTURE_REQUEST)).stdout);
  t.ok(now.includes('file.1') && now.includes('(contents)'), `this machine's /etc/fstab is read with its contents: ${now.join(' ')}`);
  for (const name of FIXTURE_NAMES) {
    t.same(names(fixtureOutput(name)), now, name);
    const fstab = loadFixtureFacts(name).files['/etc/fstab']!;
    t.ok(fstab.exists && fstab.content !== undefined && fstab.content.length > 0, `${name}: /etc/fstab comes back with its contents`);
  }
});

t.test('every fixture file is checked, and the hand-written ones say so', async (t) => {
  const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.out')).map((f) => f.slice(0, -'.out'.length)).sort();
  t.same(files, [...FIXTURE_NAMES].sort(), 'each .out in test/fixtures/facts is in FIXTURE_NAMES (so the drift check above runs on it)');
  for (const name of FIXTURE_NAMES) {
    const header = fixtureOutput(name).split('\n@@smbdirect@@ ')[0]!;
    if (HAND_WRITTEN.includes(name)) t.match(header, /^# HAND-WRITTEN profile of .*, not captured from a real host/, `${name}: marked hand-written`);
    else t.notMatch(header, /HAND-WRITTEN/, `${name}: captured, not marked`);
  }
});
