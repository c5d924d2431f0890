// A local directory standing in for a share, for the probe scripts run for real as root
// (test/smb-probe-script.test.ts: the client's; test/smb-probe-sampler.test.ts: the server's
// sampler): the share with two files of its own, a private base directory instead of /run, a
// mount table listing the share as a cifs mount with rdma; the scripts run with sh in their own
// process group; "untouched" means every file keeps its bytes and mtime.
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmd } from '../../src/quote.js';
import { probeScript, tcpOptions, type ProbeTarget } from '../../src/smb/probe-script.js';

export interface Place { share: string; table: string; base: string; root: string }

/** On /var/tmp (direct I/O works there, not on tmpfs); removed at teardown, unmounting first. */
export function place(t: Test, rdma = true): Place {
  const root = mkdtempSync('/var/tmp/smbdirect-probe-test.');
  t.teardown(() => {
    // Whatever a failing test left: unmount under root first, never remove through a mount.
    for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const m = l.split(' ')[1];
      if (m?.startsWith(root)) spawnSync('umount', ['-l', m]);
    }
    rmSync(root, { recursive: true, force: true });
  });
  const share = join(root, 'share');
  const base = join(root, 'run');
  mkdirSync(join(share, 'sub'), { recursive: true });
  mkdirSync(base);
  writeFileSync(join(share, 'other.txt'), 'keep me\n');
  writeFileSync(join(share, 'sub', 'deep.bin'), Buffer.alloc(4096, 7));
  const table = join(root, 'mounts');
  writeFileSync(table, `//10.0.0.1/data ${share} cifs rw,relatime,vers=3.1.1,cache=strict,addr=10.0.0.1${rdma ? ',rdma' : ''},soft 0 0\n`);
  return { share, table, base, root };
}

/** Every file under dir with its bytes and mtime: what "untouched" means. */
export function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
    const p = join(e.parentPath, e.name);
    const s = statSync(p);
    return `${p} ${s.mtimeMs} ${e.isFile() ? readFileSync(p).toString('base64') : 'dir'}`;
  }).sort();
}

/** Runs the script with sh in its own process group; `onLine` may signal it. */
export function run(text: string, onLine?: (line: string, pid: number) => void): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve) => {
    const c = spawn('sh', ['-c', text], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) onLine?.(l, c.pid!);
    });
    c.on('close', (code, signal) => resolve({ code, signal, stdout }));
  });
}

/** The client's probe script on the place: its mount table, private base and kernel log; the TCP mount a bind mount of the share. */
export function clientScript(p: Place, over: Partial<ProbeTarget> = {}, tcpMount?: string): string {
  const target: ProbeTarget = { path: p.share, source: '//10.0.0.1/data', tcpOptions: tcpOptions(['vers=3.1.1', 'rdma', 'credentials=/etc/smbdirect-provision/credentials/srv1@alice', '_netdev', 'nofail']), sizeMiB: 4, tool: 'dd', check: false, ...over };
  return probeScript(target, { mountTable: p.table, workBase: p.base, kmsg: join(p.root, 'kmsg'), tcpMount: tcpMount ?? `mount --bind ${cmd(p.share)} "$W/mnt"` });
}
