// The facts script with cifs mounts that do not answer (#16 item 1), run for real by /bin/sh: the
// mount table is a file of ours (the script's MT) and `stat -f` answers as a dead server would
// (blocks forever, or fails at once), through a stat wrapper first on PATH; every other stat is
// the real one on real directories. The VM end-to-end test proves it on a real dead server.
import t from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { factsScript, MOUNT_ANSWER_S, parseFacts } from '../src/facts/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-unanswered-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const [hung, failed, ok, spaced] = ['hung', 'failed', 'ok', 'with space'].map((n) => join(dir, n)) as [string, string, string, string];
for (const d of [hung, failed, ok, spaced]) mkdirSync(join(d, 'sub'), { recursive: true });
writeFileSync(join(ok, 'file'), 'hello\n');
writeFileSync(join(dir, 'mounts'), [
  `//10.0.0.1/a ${hung} cifs rw,vers=3.1.1,rdma 0 0`,
  `//10.0.0.1/b ${failed} cifs rw,vers=3.1.1,rdma 0 0`,
  `//10.0.0.2/c ${ok} cifs rw,vers=3.1.1,rdma 0 0`,
  `//10.0.0.1/d ${spaced.replace(' ', '\\040')} smb3 rw 0 0`,
  `/dev/vda / ext4 rw 0 0`, ''].join('\n'));
// The wrapper: a statfs of a "hung" mount blocks (a pid file shows it ran), of a "failed" one or
// the spaced one fails at once; anything else is the real stat.
const bin = join(dir, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'stat'), `#!/bin/sh
if [ "$1" = -f ]; then
  case "$3" in
    ${hung}) echo $$ > ${dir}/blocked.pid; exec sleep 600;;
    ${failed}|"${spaced}") echo "stat: cannot read file system information: Host is down" >&2; exit 1;;
  esac
fi
case "$*" in *${hung}*) echo "stat touched a path under the hung mount: $*" >> ${dir}/touched;; esac
exec /usr/bin/stat "$@"
`);
chmodSync(join(bin, 'stat'), 0o755);

const reads = [join(ok, 'file'), hung, join(hung, 'sub'), `${hung}/`, `${dir}/`, failed, join(spaced, 'sub'), join(ok, 'sub')];
const script = factsScript({ reads, probes: {} }).replace('MT=/proc/mounts', `MT=${join(dir, 'mounts')}`);
t.not(script, factsScript({ reads, probes: {} }), 'the test replaced the mount table');

let took = 0;
let facts!: ReturnType<typeof parseFacts>;
let sys!: { mounts: Array<{ target: string; answer?: string }> };
// In before(): the root test must have something pending across this long await.
t.before(async () => {
  const t0 = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    const p = execFile('/bin/sh', ['-s'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, maxBuffer: 1 << 24 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    p.stdin!.end(script);
  });
  took = (Date.now() - t0) / 1000;
  facts = parseFacts(out, { reads, probes: {} });
  sys = facts.system as typeof sys;
});

t.test('a mount whose statfs blocks is given MOUNT_ANSWER_S, then left behind', async (t) => {
  t.ok(took >= MOUNT_ANSWER_S - 0.5 && took < MOUNT_ANSWER_S + 10, `facts took ${took.toFixed(1)} s`);
  t.same(sys.mounts.find((m) => m.target === hung)?.answer, 'hung');
  t.same(sys.mounts.find((m) => m.target === failed)?.answer, 'failed');
  t.same(sys.mounts.find((m) => m.target === spaced)?.answer, 'failed', 'a mount point with a blank (\\040 in /proc/mounts)');
  t.equal(sys.mounts.find((m) => m.target === ok)?.answer, undefined, 'a mount that answers has no answer flag');
  const pid = Number(readFileSync(join(dir, 'blocked.pid'), 'utf8'));
  t.throws(() => process.kill(pid, 0), 'the blocked statfs was killed');
});

t.test('nothing at or under a mount that does not answer is touched, the rest is read', async (t) => {
  t.notOk(existsSync(join(dir, 'touched')) && readFileSync(join(dir, 'touched'), 'utf8'), 'no stat of a path under the hung mount');
  t.same(facts.files[hung], { path: hung, exists: true, isDir: true, unanswered: hung });
  t.same(facts.files[join(hung, 'sub')], { path: join(hung, 'sub'), exists: true, isDir: false, unanswered: hung });
  t.same(facts.files[`${hung}/`]?.unanswered, hung, 'no listing of the hung mount');
  t.same(facts.files[failed]?.unanswered, failed);
  t.same(facts.files[join(spaced, 'sub')]?.unanswered, spaced);
  t.equal(facts.files[join(ok, 'file')]?.content, 'hello\n', 'a file on a mount that answers is read');
  t.equal(facts.files[join(ok, 'sub')]?.isDir, true);
  t.same(facts.files[`${dir}/`]?.entries, ['bin', 'blocked.pid', 'failed', 'hung', 'mounts', 'ok', 'with space'], 'the parent is listed, the hung mount point among its entries');
});

