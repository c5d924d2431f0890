// The pure and local parts of the per-release VM lab (#12): which build root a kernel release
// belongs to, the CLI's release list kept equal to the lab's, and the link hub that joins any
// number of VMs on one segment (run for real here, on loopback, with two fake "VMs" speaking
// qemu's length-prefixed stream framing).
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codenameOfKernel, debianSources, isCodename } from '../src/kernel/build-root.js';
import { VM_RELEASES, codenameOfVmRelease } from '../src/lab/vm-image.js';
import { VM_RELEASES as CLI_RELEASES } from '../src/commands/lab.js';
import { isOurHub, startLinkHub } from '../src/lab/link-hub.js';
import { vcpusOf } from '../src/lab/vm.js';

t.test('a kernel release names the Debian release whose compiler built it', async (t) => {
  t.equal(codenameOfKernel('6.1.0-57-amd64'), 'bookworm');
  t.equal(codenameOfKernel('6.1.0-26-cloud-amd64'), 'bookworm');
  t.equal(codenameOfKernel('6.12.118+deb13-amd64'), 'trixie');
  t.equal(codenameOfKernel('7.3.4+deb13-amd64'), 'trixie', 'the trixie-backports kernel is built for trixie');
  t.equal(codenameOfKernel('7.2.1+deb14-amd64'), 'forky');
  t.equal(codenameOfKernel('6.12.12+bpo-amd64'), 'bookworm', 'bookworm-backports');
  t.equal(codenameOfKernel('5.14.0-503.14.1.el9_5.x86_64'), undefined, 'not Debian');
  t.ok(isCodename('trixie'));
  t.notOk(isCodename('jammy'));
});

t.test('the lab boots bookworm, trixie and trixie-backports; the CLI offers exactly those', async (t) => {
  t.same([...CLI_RELEASES], [...VM_RELEASES]);
  t.equal(codenameOfVmRelease('trixie-backports'), 'trixie', 'backports kernel, trixie userland and build root');
  t.equal(codenameOfVmRelease('bookworm'), 'bookworm');
});

const frame = (payload: string): Buffer => {
  const b = Buffer.from(payload);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};
const join2 = (port: number): Promise<Socket> => new Promise((resolve, reject) => {
  const s = connect(port, '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});
const collect = (s: Socket): Buffer[] => {
  const got: Buffer[] = [];
  s.on('data', (d) => got.push(d));
  return got;
};

t.test('the link hub repeats each frame to every other VM, whole, and never back to its sender', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hub-'));
  const pidfile = join(dir, 'hub.pid');
  const srv = await import('node:net').then((n) => new Promise<number>((res) => {
    const s = n.createServer().listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => res(typeof a === 'object' && a ? a.port : 0)); });
  }));
  const pid = await startLinkHub(srv, pidfile);
  t.teardown(() => {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true });
  });
  t.ok(await isOurHub(pid, pidfile), 'its PID is recognised as our hub');
  t.notOk(await isOurHub(process.pid, pidfile), 'another process is not');
  const [a, b, c] = await Promise.all([join2(srv), join2(srv), join2(srv)]);
  const [gotA, gotB, gotC] = [collect(a!), collect(b!), collect(c!)];
  await new Promise((r) => setTimeout(r, 100));
  // A frame split across two writes, then two frames in one write: the hub reassembles by length.
  const f1 = frame('x'.repeat(1500));
  a!.write(f1.subarray(0, 700));
  await new Promise((r) => setTimeout(r, 50));
  a!.write(f1.subarray(700));
  b!.write(Buffer.concat([frame('from-b-1'), frame('from-b-2')]));
  await new Promise((r) => setTimeout(r, 300));
  const all = (g: Buffer[]): Buffer => Buffer.concat(g);
  t.same(all(gotB), f1, 'b got a\'s frame whole');
  const frames = (b: Buffer): string[] => {
    const out: string[] = [];
    for (let i = 0; i + 4 <= b.length; ) { const n = b.readUInt32BE(i); out.push(b.subarray(i + 4, i + 4 + n).toString()); i += 4 + n; }
    return out.sort();
  };
  t.same(frames(all(gotC)), ['from-b-1', 'from-b-2', 'x'.repeat(1500)], 'c got all three frames whole (in either order between senders), nothing more');
  t.same(all(gotA), Buffer.concat([frame('from-b-1'), frame('from-b-2')]), 'a got b\'s two frames, not its own');
  for (const s of [a, b, c]) s!.destroy();
  process.kill(pid, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(await isOurHub(pid, pidfile), 'stopped by its PID');
});

t.test('patches are per kernel series, and their set keys the module cache', async (t) => {
  const { patchSetOf } = await import('../src/kernel/build-modules.js');
  const { readdirSync } = await import('node:fs');
  const dir = new URL('../src/kernel/patches/6.1/', import.meta.url);
  t.same(readdirSync(dir).filter((f) => f.endsWith('.patch')).sort(),
    ['0001-ksmbd-opinfo_put-null-check.patch', '0002-ksmbd-remove-fd-from-inode-list.patch', '0003-ksmbd-stop-sessions-hold-conn.patch'], '6.1 carries three ksmbd fixes (README lists them)');
  const set = await patchSetOf('6.1');
  t.match(set, /^[0-9a-f]{16}$/, '6.1 has a patch set');
  t.equal(await patchSetOf('6.1'), set, 'stable');
  t.equal(await patchSetOf('6.12'), '', '6.12 builds unpatched');
  t.equal(await patchSetOf('7.3'), '', '7.3 builds unpatched');
});

t.test('one apt sources text for build roots and VM images: the release, -updates, -backports, -security', async (t) => {
  t.match(debianSources('bookworm'), /^Suites: bookworm bookworm-updates bookworm-backports$/m);
  t.match(debianSources('trixie'), /^Suites: trixie trixie-updates trixie-backports$/m, 'trixie-backports images take their kernel from here');
  t.match(debianSources('trixie'), /^URIs: http:\/\/deb\.debian\.org\/debian-security\nSuites: trixie-security$/m);
  t.match(debianSources('forky'), /^Suites: forky forky-updates$/m, 'testing has no backports suite');
});

t.test('vCPUs per VM: one on 7.x, and never more vCPU threads than twice the host cores', async (t) => {
  t.equal(vcpusOf({ release: '7.3.4+deb13-amd64' }, 1, 8), 1, '7.x: one (two panicked at boot under TCG)');
  t.equal(vcpusOf({ release: '6.12.118+deb13-amd64' }, 2, 2), 2, 'the pair lab on 2 cores: two each');
  t.equal(vcpusOf({ release: '6.1.0-57-amd64' }, 3, 2), 1, 'three VMs on 2 cores: one each');
  t.equal(vcpusOf({ release: '6.1.0-57-amd64' }, 3, 4), 2, 'three VMs on 4 cores: two each');
});
