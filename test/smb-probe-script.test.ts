// src/smb/probe-script.ts run for real with sh, as root: a local ext4 directory (direct I/O works
// on /var/tmp) stands in for the share. Two seams, and only these: the mount table the RDMA mount
// is looked up in (a file listing the directory as a cifs mount with rdma) and the TCP mount
// command (a real bind mount of the directory on the private mount point, so the cleanup's
// umount is real). The private directory goes under a temp dir instead of /run, to check it is
// gone. What the tests assert: the figures come out; refusals write nothing; a failure or a
// signal mid-transfer leaves no probe file, no mount, no private directory; and every other
// file of the "share" keeps its bytes and mtime.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { factsScript, parseFacts } from '../src/facts/index.js';
import { probeVerdict } from '../src/smb/probe.js';
import { PROBE_KMSG } from '../src/smb/probe-script.js';
import { ensurePrerequisites } from '../src/prereqs.js';
import { clientScript as script, place, run, snapshot, type Place } from './helpers/probe-share.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root (bind mounts)');
  process.exit(0);
}

/** Nothing of the probe left: no probe file in the share, no private directory, no mount. */
function assertClean(t: Test, p: Place, before: string[]): void {
  t.same(readdirSync(p.share).filter((n) => n.startsWith('.smbdirect-probe')), [], 'no probe file left in the share');
  t.same(readdirSync(p.base), [], 'no private directory left');
  t.notOk(readFileSync('/proc/mounts', 'utf8').includes(p.base), 'no mount left under the private directory');
  t.same(snapshot(p.share), before, 'every other file: same bytes, same mtime');
}

const MOUNT = { host: 'local', path: '/mnt/data', server: 'srv1', share: 'data', sizeMiB: 4, tool: 'dd' as const };

t.test('a whole run (dd): four transfers, figures, nothing left', async (t) => {
  const p = place(t);
  const before = snapshot(p.share);
  const r = await run(script(p));
  t.equal(r.code, 0, r.stdout);
  t.match(r.stdout, /^probe 1 run\nmount rdma\nfree \d+ 72\ntool dd\n/);
  t.match(r.stdout, /\ndone\ncleanup ok\n$/);
  const v = probeVerdict(MOUNT, { code: r.code!, stdout: r.stdout }, 68);
  t.ok('measure' in v && v.measure.rdma.readMBps > 0 && v.measure.tcp.writeMBps > 0 && v.measure.ratio > 0, JSON.stringify(v));
  const id = /\nid ([0-9a-f]{12})\n/.exec(r.stdout)?.[1];
  t.ok(id && 'measure' in v && v.measure.id === id, `the probe's ID (its markers' name) is in the measure: ${id}`);
  t.equal(readFileSync(join(p.root, 'kmsg'), 'utf8'), `<5>${PROBE_KMSG} //10.0.0.1/data\n`, 'the kernel log is told that a TCP mount of the share follows (verify skips its attempt line)');
  assertClean(t, p, before);
});

t.test('fio when installed, auto', async (t) => {
  // fio is a managed host's program; here the test installs it (a test prerequisite), never skips.
  await ensurePrerequisites(['probe-test'], (l) => t.comment(l));
  const p = place(t);
  const before = snapshot(p.share);
  const r = await run(script(p, { tool: 'auto' }));
  t.equal(r.code, 0);
  const v = probeVerdict(MOUNT, { code: r.code!, stdout: r.stdout }, 68);
  t.ok('measure' in v && v.measure.tool === 'fio' && v.measure.tcp.readMBps > 0, JSON.stringify(v));
  assertClean(t, p, before);
});

t.test('check mode: looks only (no private directory, no file, no mount)', async (t) => {
  const p = place(t);
  const before = snapshot(p.share);
  const r = await run(script(p, { check: true }));
  t.equal(r.code, 0);
  t.match(r.stdout, /^probe 1 check\nmount rdma\nfree \d+ 72\ntool dd\nhz \d+\nchecked\ncleanup ok\n$/);
  assertClean(t, p, before);
});

t.test('refusals: free space, no rdma, not mounted; nothing written', async (t) => {
  const p = place(t);
  const before = snapshot(p.share);
  const s = statfsSync(p.share);
  const availMiB = Math.floor((s.bavail * s.bsize) / 1048576);
  const big = await run(script(p, { sizeMiB: Math.ceil(availMiB / 2) + 1 }));
  const v = probeVerdict({ ...MOUNT, sizeMiB: Math.ceil(availMiB / 2) + 1 }, { code: big.code!, stdout: big.stdout }, 68);
  t.match('why' in v ? v.why : '', /^refused: the share has \d+ MiB free, the probe needs \d+ MiB/);
  t.equal(big.code, 3);
  assertClean(t, p, before);

  const tcpOnly = place(t, false);
  const r2 = await run(script(tcpOnly));
  t.match(r2.stdout, /^probe 1 run\nfail no-rdma\ncleanup ok\n$/);
  writeFileSync(tcpOnly.table, 'proc /proc proc rw 0 0\n');
  const r3 = await run(script(tcpOnly));
  t.match(r3.stdout, /^probe 1 run\nfail not-mounted\ncleanup ok\n$/, 'a mount point that is not mounted: nothing is written into the directory below');
  t.same(readdirSync(tcpOnly.base), []);
});

t.test('the TCP mount fails: its stderr reported, the RDMA file already gone', async (t) => {
  const p = place(t);
  const before = snapshot(p.share);
  const r = await run(script(p, {}, `echo 'mount error(13): Permission denied' >&2; exit 32`));
  t.equal(r.code, 3);
  const v = probeVerdict(MOUNT, { code: r.code!, stdout: r.stdout }, 68);
  t.match('why' in v ? v.why : '', /TCP mount .* failed \(exit 32\): mount error\(13\): Permission denied/);
  assertClean(t, p, before);
});

t.test('a transfer fails (a 1 MiB tmpfs as the TCP mount): partial file, mount and directory removed', async (t) => {
  const p = place(t);
  const before = snapshot(p.share);
  const r = await run(script(p, {}, 'mount -t tmpfs -o size=1m smbdirect-probe-test "$W/mnt"'));
  t.equal(r.code, 3, r.stdout);
  t.match(r.stdout, /\nfail xfer tcp write 1\ncleanup ok\n$/);
  const v = probeVerdict(MOUNT, { code: r.code!, stdout: r.stdout }, 68);
  t.match('why' in v ? v.why : '', /tcp write failed \(exit 1\): .*dd: /);
  assertClean(t, p, before);
});

for (const [sig, group, at] of [['SIGTERM', true, 'tcp write'], ['SIGINT', false, 'rdma write'], ['SIGHUP', false, 'tcp read']] as const) {
  t.test(`${sig} to ${group ? 'the process group (as timeout sends it)' : 'sh alone'} during ${at}: everything removed`, async (t) => {
    const p = place(t);
    const before = snapshot(p.share);
    let sent = false;
    const r = await run(script(p, { sizeMiB: 512 }), (line, pid) => {
      if (sent || !line.startsWith(`cpu ${at} start `)) return;
      sent = true;
      process.kill(group ? -pid : pid, sig);
    });
    t.ok(sent, 'the transfer began');
    t.match(r.stdout, new RegExp(`\\nsignal ${sig.slice(3)}\\n(?:.*\\n)*cleanup ok\\n$`));
    t.notMatch(r.stdout, /\ndone\n/, 'stopped mid-transfer');
    t.equal(r.code, { SIGTERM: 143, SIGINT: 130, SIGHUP: 129 }[sig]);
    const v = probeVerdict(MOUNT, { code: r.code!, stdout: r.stdout }, 68);
    t.match('why' in v ? v.why : '', new RegExp(`^interrupted \\(${sig}\\) during ${at}$`));
    assertClean(t, p, before);
  });
}

t.test('the ssh session ends mid-transfer (the controller was interrupted): the probe stops and removes everything at once', async (t) => {
  const p = place(t);
  const before = snapshot(p.share);
  // The probe's nearest "sshd" ancestor stands for the session: a copy of sh named sshd-test, killed.
  const sshd = join(p.root, 'sshd-test');
  copyFileSync('/bin/sh', sshd);
  chmodSync(sshd, 0o755);
  const c = spawn(sshd, ['-c', 'sh -c "$1"; true', 'x', script(p, { sizeMiB: 512 })], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  let killedAt = 0;
  c.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!killedAt && /\ncpu rdma write start /.test(stdout)) { killedAt = Date.now(); process.kill(c.pid!, 'SIGKILL'); }
  });
  await new Promise((r) => c.stdout.on('close', r));
  t.ok(killedAt, 'the session ended during the RDMA write');
  t.ok(Date.now() - killedAt < 15_000, `stopped within ${((Date.now() - killedAt) / 1000).toFixed(1)} s, not after its 512 MiB`);
  t.match(stdout, /\nsignal HUP\n(?:.*\n)*cleanup ok\n$/);
  t.notMatch(stdout, /\ndone\n/);
  assertClean(t, p, before);
});

t.test('run as the engine runs it (a facts probe with its own time limit): the limit stops it, nothing left', async (t) => {
  const p = place(t);
  const before = snapshot(p.share);
  const probes = { x: { script: script(p, { sizeMiB: 1024 }), timeoutS: 1 } };
  const r = spawnSync('sh', ['-s'], { input: factsScript({ reads: [], probes, system: false }), maxBuffer: 1 << 24 });
  const result = parseFacts(r.stdout, { reads: [], probes }).probes.x!;
  t.equal(result.code, 124, 'timeout\'s exit code');
  const v = probeVerdict(MOUNT, result, 1);
  t.match('why' in v ? v.why : '', /^interrupted \(SIGTERM\) by the probe's time limit \(1 s; lower smbdirect_probe_size_mib\) during rdma (write|read)$/);
  t.match(result.stdout, /\ncleanup ok\n$/);
  assertClean(t, p, before);
});
