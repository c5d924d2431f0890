// The VM lab's private link as a hub: one Ethernet segment that any number of qemu VMs join, so a
// matrix of releases (three VMs, each a server and a client of another) needs one NIC per VM and
// one subnet, like a real cluster's RDMA network. qemu's point-to-point socket netdev
// (listen/connect) joins exactly two; its multicast mode would send outside loopback.
//
// Each VM connects with `-netdev socket,connect=127.0.0.1:PORT`; qemu frames every Ethernet frame
// on that stream as a 4-byte big-endian length and the bytes. The hub repeats each frame to every
// other VM (a hub, not a switch: with a handful of VMs, learning MACs buys nothing). Loopback only.
//
// It runs as its own small node process, detached like the qemu daemons it serves (the lab
// outlives `lab up`), started with `node -e` so it runs the same from dist/ and from the test
// sources; its PID file is written once it listens, and `lab down` ends it by that PID.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';

/** The hub's whole program (CommonJS under `node -e`; argv: port, pidfile, marker). */
const HUB = `
const net = require('net'), fs = require('fs');
const [port, pidfile] = process.argv.slice(1);
const peers = new Set();
net.createServer((s) => {
  s.setNoDelay(true);
  peers.add(s);
  let buf = Buffer.alloc(0);
  s.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 4) {
      const n = buf.readUInt32BE(0);
      if (buf.length < 4 + n) break;
      const frame = buf.subarray(0, 4 + n);
      buf = buf.subarray(4 + n);
      for (const p of peers) if (p !== s && !p.destroyed) p.write(frame);
    }
  });
  const drop = () => peers.delete(s);
  s.on('close', drop);
  s.on('error', drop);
}).listen(Number(port), '127.0.0.1', () => fs.writeFileSync(pidfile, String(process.pid)));
`;

/** The marker in the hub's command line: how `isOurHub` tells it from a recycled PID. */
const MARKER = 'smbdirect-link-hub';

/** Starts a hub on 127.0.0.1:PORT; resolves with its PID once it listens. */
export async function startLinkHub(port: number, pidfile: string): Promise<number> {
  await rm(pidfile, { force: true });
  const child = spawn(process.execPath, ['-e', HUB, String(port), pidfile, MARKER], { detached: true, stdio: 'ignore' });
  child.unref();
  for (let i = 0; i < 100; i++) {
    if (existsSync(pidfile)) return Number((await readFile(pidfile, 'utf8')).trim());
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  throw new Error(`the VM lab's link hub did not start on 127.0.0.1:${port} (exit ${child.exitCode ?? 'none'}): is the port taken?`);
}

/** True while PID is a live hub started for PIDFILE (never signal a recycled PID). */
export async function isOurHub(pid: number, pidfile: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.includes(MARKER) && cmdline.includes(pidfile);
  } catch {
    return false;
  }
}
