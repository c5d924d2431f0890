// The directories our tasks create (share directories, mount points, and the parents `mkdir -p`
// made for them), recorded on the host so teardown removes exactly those, when empty, and keeps
// the record only for the directories it had to leave. The record is a managed file (planned,
// idempotent, shown by --diff/--check), one absolute path a line.
import { notEmpty } from '../engine/plan.js';
import { cmd } from '../quote.js';
import type { Change, Facts, Vars } from '../types.js';
import { isRecord, normalizePath } from './text.js';

export const STATE_DIR = '/var/lib/smbdirect-provision';
export const SHARE_DIRS_RECORD = `${STATE_DIR}/created-share-dirs`;
export const MOUNT_POINTS_RECORD = `${STATE_DIR}/created-mount-points`;
const HEADER = '# Directories smbdirect-provision created; teardown removes them when empty.\n';

/** PATH and every parent of it below "/", outermost first: /srv, /srv/smb, /srv/smb/data. */
export function withParents(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/** The share paths as written (teardown works even when the vars no longer validate). */
export function rawSharePaths(vars: Vars): string[] {
  const list = Array.isArray(vars.ksmbd_shares) ? vars.ksmbd_shares : [];
  return list.flatMap((s) => (isRecord(s) && typeof s.path === 'string' && s.path.startsWith('/') ? [normalizePath(s.path)] : []));
}

export function parseRecord(content: string | undefined): string[] {
  return (content ?? '').split('\n').filter((l) => l.startsWith('/'));
}

const deepestFirst = (a: string, b: string): number => b.split('/').length - a.split('/').length || (a < b ? 1 : -1);

/** The record a creating task writes: what it already lists plus what `paths` (and parents) adds that does not exist yet. */
export function recordCreated(record: string, paths: string[], facts: Facts): Change[] {
  const had = parseRecord(facts.files[record]?.exists ? facts.files[record]?.content : undefined);
  const missing = (p: string) => !facts.files[p]?.exists;
  // mkdir -p makes only what is missing on the way to a missing directory.
  const made = paths.filter(missing).flatMap(withParents).filter((p) => missing(p) && !p.includes('\n'));
  const all = [...new Set([...had, ...made])].sort();
  if (!all.length) return [];
  return [{ kind: 'file', path: record, content: HEADER + all.map((p) => `${p}\n`).join('') }];
}

/** What a teardown reads to remove recorded directories among `paths` (and their parents): each path, its entries, and the record. */
export const removalReads = (record: string, paths: string[]): string[] =>
  [record, ...new Set(paths.flatMap(withParents).flatMap((p) => [p, `${p}/`]))];

export interface Removal {
  changes: Change[];
  /** "kept DIR: not empty (N entries: a, b)" per recorded directory left in place. */
  kept: string[];
}

/**
 * Removes (absent: rmdir, never a recursive delete) the recorded directories among `paths` and
 * their parents, deepest first, each only when it will be empty; rewrites the record with what
 * stays (recorded directories it had to leave, or could not see), or removes it.
 * `hidden`: directories whose contents cannot be seen now (a mount point the plan unmounts first):
 * removed by a guarded rmdir at apply time if empty then, and dropped from the record either way
 * (their parents stay recorded until a later teardown sees them empty).
 */
export function removeRecorded(record: string, paths: string[], facts: Facts, hidden: string[] = [], extra: string[] = []): Removal {
  const cur = facts.files[record];
  const had = cur?.exists ? parseRecord(cur.content) : [];
  // `extra`: directories removed when empty even if not recorded (made before there was a record).
  const recorded = [...new Set([...had, ...extra])];
  const candidates = new Set(paths.flatMap(withParents));
  const gone = new Set<string>();
  const changes: Change[] = [];
  const kept: string[] = [];
  const stay: string[] = [];
  for (const dir of [...recorded].sort(deepestFirst)) {
    const f = facts.files[dir];
    if (!candidates.has(dir)) { stay.push(dir); continue; }
    if (!f?.exists) continue;
    if (!f.isDir) { stay.push(dir); kept.push(`kept ${dir}: not a directory`); continue; }
    if (hidden.includes(dir)) {
      // Unmounted by this same plan: only the host can tell, after the umount, whether it is empty.
      changes.push({ kind: 'command', desc: `remove ${dir} if empty`, cmd: cmd('rmdir', '--', dir), unless: `! test -d ${cmd(dir)} || test -n "$(ls -A ${cmd(dir)})"` });
      continue;
    }
    const entries = (facts.files[`${dir}/`]?.entries ?? []).filter((e) => !gone.has(`${dir}/${e}`));
    if (entries.length) { stay.push(dir); kept.push(notEmpty(dir, entries)); continue; }
    gone.add(dir);
    changes.push({ kind: 'absent', path: dir });
  }
  if (!cur?.exists) return { changes, kept };
  if (stay.length) changes.push({ kind: 'file', path: record, content: HEADER + stay.sort().map((p) => `${p}\n`).join('') });
  else changes.push({ kind: 'absent', path: record });
  return { changes, kept };
}

/** Removes STATE_DIR when nothing but `removed` (files this plan removes) is in it. */
export function removeStateDir(facts: Facts, removed: string[]): Change[] {
  const f = facts.files[STATE_DIR];
  if (!f?.exists || !f.isDir) return [];
  const left = (facts.files[`${STATE_DIR}/`]?.entries ?? []).filter((e) => !removed.includes(`${STATE_DIR}/${e}`));
  return left.length ? [] : [{ kind: 'absent', path: STATE_DIR }];
}
