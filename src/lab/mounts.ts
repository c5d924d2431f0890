// Finding and removing mounts below a directory, read from /proc/self/mountinfo so teardown
// sees exactly what the kernel has (also mounts left behind by an interrupted run).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { run } from './util.js';

/** Mount points equal to or below `dir`, deepest first (the order they must be unmounted). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = path.resolve(dir);
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    // mountinfo escapes space, tab, newline and backslash as octal (\040 etc.).
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === root || mp.startsWith(`${root}/`)) points.push(mp);
  }
  return points.sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

/** Unmounts everything under `dir`; a lazy unmount is the last resort for a busy mount. */
export async function unmountUnder(dir: string): Promise<void> {
  // One umount for all (deepest first): 50 separate umount runs cost ~2 s here.
  const all = await mountsUnder(dir);
  if (all.length === 0) return;
  await run('umount', all).catch(() => undefined);
  for (let pass = 0; pass < 5; pass++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return;
    for (const mp of points) {
      const ok = await run('umount', [mp]).then(() => true, () => false);
      if (!ok && pass >= 2) await run('umount', ['-l', mp]).catch(() => undefined);
    }
  }
}
