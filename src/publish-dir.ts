// Caches are built in a temp dir and renamed into place (a lab's base image, build roots, VM images,
// module builds), so only complete ones ever carry the final name. Two processes may build the same
// one at once (two operators, a bench beside a test run): the one that finishes second must not
// remove the first's, which may already be in use. A lab's hosts lost /usr/bin that way: their
// overlay's lower dir was removed under them to make room for the second copy of the same image.
import { rename, rm } from 'node:fs/promises';

/**
 * Renames TMP to FINAL. When FINAL is there already and complete (another build finished first),
 * it is kept and TMP removed; an incomplete FINAL (never made by a rename, so nobody uses it) is
 * replaced. Returns whether TMP was put in place.
 */
export async function publishDir(tmp: string, final: string, complete: (dir: string) => boolean | Promise<boolean>): Promise<boolean> {
  try {
    await rename(tmp, final);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
  }
  if (await complete(final)) {
    await rm(tmp, { recursive: true, force: true });
    return false;
  }
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  return true;
}
