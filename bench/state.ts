// What a run changed on the lab's hosts, read from the controller through each host's overlay
// (its upper dir holds every file written since the host started), and the scripts derived
// from it: the floor's per-host script (reach the same end state, compare-then-write) and the
// reset script (put back exactly what was there before the first run).
//
// The managed set of a host is taken from smbdirect's first run: every path in the upper dir
// that is new or differs (content, type, mode, owner) from before the run, minus scratch
// places (/tmp, /root/.ansible...). Ansible's and the floor's end states are then compared
// with smbdirect's on exactly those paths.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { factsScript } from '../src/facts/index.js';
import type { KconfigRead } from '../src/types.js';

export interface Entry {
  type: 'f' | 'd' | 'l' | 'o';
  mode: number;
  uid: number;
  gid: number;
  /** sha1 of the content (files), link target (links) */
  sum: string;
  content?: Buffer;
}

/** path ("/etc/fstab") -> entry */
export type Snapshot = Map<string, Entry>;

const SKIP = [/^\/tmp(\/|$)/, /^\/var\/tmp(\/|$)/, /^\/run(\/|$)/, /^\/root\/\.ansible(\/|$)/, /^\/root\/\.cache(\/|$)/, /^\/var\/cache(\/|$)/];
const MAX_CONTENT = 4 << 20;

export async function entryOf(file: string, withContent: boolean): Promise<Entry | undefined> {
  let st;
  try { st = await fs.lstat(file); } catch { return undefined; }
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isSymbolicLink()) return { type: 'l', ...base, sum: await fs.readlink(file) };
  if (st.isDirectory()) return { type: 'd', ...base, sum: '' };
  if (st.isFile()) {
    const content = st.size <= MAX_CONTENT ? await fs.readFile(file) : Buffer.alloc(0);
    const sum = createHash('sha1').update(content).digest('hex');
    return withContent ? { type: 'f', ...base, sum, content } : { type: 'f', ...base, sum };
  }
  return { type: 'o', ...base, sum: `${st.rdev}` }; // whiteouts (char 0:0) and the like
}

/** Every path of an overlay upper dir, with content (upper dirs of lab hosts are small). */
export async function snapshotUpper(upper: string): Promise<Snapshot> {
  const out: Snapshot = new Map();
  async function walk(rel: string): Promise<void> {
    const names = await fs.readdir(path.join(upper, rel)).catch(() => [] as string[]);
    for (const n of names) {
      const p = `${rel}/${n}`;
      if (SKIP.some((r) => r.test(p))) continue;
      const e = await entryOf(path.join(upper, p), true);
      if (!e) continue;
      out.set(p, e);
      if (e.type === 'd') await walk(p);
    }
  }
  await walk('');
  return out;
}

const same = (a: Entry | undefined, b: Entry | undefined): boolean =>
  !!a && !!b && a.type === b.type && a.sum === b.sum && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;

export interface HostPlan {
  name: string;
  /** managed path -> the state before the first run (undefined: did not exist) */
  original: Map<string, Entry | undefined>;
  /** managed path -> smbdirect's end state */
  reference: Map<string, Entry>;
}

/** The managed set of one host: what smbdirect's first run changed. */
export async function planHost(name: string, upper: string, lower: string, before: Snapshot): Promise<HostPlan> {
  const after = await snapshotUpper(upper);
  const original = new Map<string, Entry | undefined>();
  const reference = new Map<string, Entry>();
  for (const [p, e] of after) {
    if (e.type === 'o') continue;
    const orig = before.get(p) ?? (await entryOf(path.join(lower, p), true));
    if (same(orig, e)) continue;
    original.set(p, orig);
    reference.set(p, e);
  }
  return { name, original, reference };
}

/** Paths (of the managed set) where the host's current state differs from smbdirect's end state. */
export async function compareWithReference(plan: HostPlan, root: string): Promise<string[]> {
  const bad: string[] = [];
  for (const [p, want] of plan.reference) {
    const got = await entryOf(path.join(root, p), false);
    if (!got || !same(got, want)) {
      const why = !got ? 'missing' : got.type !== want.type ? `type ${got.type}` : got.sum !== want.sum ? 'content'
        : got.mode !== want.mode ? `mode ${got.mode.toString(8)} != ${want.mode.toString(8)}` : `owner ${got.uid}:${got.gid}`;
      bad.push(`${p} (${why})`);
    }
  }
  return bad;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const mode = (m: number): string => m.toString(8);

function fileLines(p: string, e: Entry): string[] {
  if (e.type === 'd') return [`d ${q(p)} ${mode(e.mode)} ${e.uid} ${e.gid}`];
  if (e.type === 'l') return [`l ${q(e.sum)} ${q(p)}`];
  const b64 = (e.content ?? Buffer.alloc(0)).toString('base64');
  return [`f ${q(p)} ${mode(e.mode)} ${e.uid} ${e.gid} ${e.sum} ${q(b64)}`];
}

/** The lines that read every path's state and every file's hash, before the per-path lines. */
function stateLines(entries: Array<[string, Entry]>): string[] {
  const files = entries.filter(([, e]) => e.type === 'f').map(([p]) => q(p));
  return [`st ${entries.map(([p]) => q(p)).join(' ')}`, ...(files.length ? [`sums ${files.join(' ')}`] : [])];
}

/** Directories first (parents before children), then files and links. */
function ordered(m: Map<string, Entry>): Array<[string, Entry]> {
  return [...m].sort(([a, ea], [b, eb]) => (ea.type === 'd' ? 0 : 1) - (eb.type === 'd' ? 0 : 1) || a.localeCompare(b));
}

/** The floor's script for a host: the library (bench/floor/lib.sh), then one line per managed path. */
export function floorScript(lib: string, plan: HostPlan): string {
  const entries = ordered(plan.reference);
  const body = [...stateLines(entries), ...entries.flatMap(([p, e]) => fileLines(p, e))];
  return `${lib}\n${body.join('\n')}\necho "changed=$changed"\n`;
}

/**
 * The floor's script after the system facts script a no-change `run site` sends (the kernel config
 * answered from the controller's cache, as smbdirect's is): the host work of site (its verify play
 * reads nearly every section) over plain SSH, without smbdirect's engine. The facts' output travels
 * back as smbdirect's does; the floor's "changed=N" stays the last line.
 */
export function floorFactsScript(lib: string, plan: HostPlan, kconfig?: KconfigRead): string {
  return `(\n${factsScript({ reads: [], probes: {}, kconfig })})\n${floorScript(lib, plan)}`;
}

/** Puts back the state from before the first run: restores changed originals, removes new paths. */
export function resetScript(lib: string, plan: HostPlan): string {
  const restore: Map<string, Entry> = new Map();
  const remove: string[] = [];
  for (const [p, orig] of plan.original) {
    if (orig) restore.set(p, orig);
    else if (!plan.original.has(path.posix.dirname(p)) || plan.original.get(path.posix.dirname(p))) remove.push(p);
  }
  const body = [
    ...remove.sort().map((p) => `rm -rf ${q(p)}`),
    ...stateLines(ordered(restore)),
    ...ordered(restore).flatMap(([p, e]) => fileLines(p, e)),
    'rm -rf /root/.ansible',
  ];
  return `${lib}\n${body.join('\n')}\necho "changed=$changed"\n`;
}
