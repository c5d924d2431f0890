// group_vars/ and host_vars/ beside an inventory file (or inside an inventory directory), read as
// Ansible's host_group_vars plugin reads them: for an entity NAME the first of NAME (file or
// directory), NAME.yml, NAME.yaml, NAME.json; a directory contributes all its files (recursively,
// in lexical order, skipping hidden files, "~" backups and other extensions), merged shallowly.

import fs from 'node:fs/promises';
import path from 'node:path';
import type { Vars } from '../types.js';
import { fail, type WarnFn } from './errors.js';
import { decryptVaultText, isVaulted, registerStrings } from './vault.js';
import { isMap, isNull, nodeType, parseYaml, varsOf } from './yamlfile.js';

const EXTENSIONS = ['.yml', '.yaml', '.json'];

async function statOrNull(p: string) {
  try {
    return await fs.stat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    fail({ file: p }, path.basename(p), `cannot read vars path: ${code ?? (e as Error).message}`, 'Fix or remove it (check that it is not a broken or looping symlink and that this user may read it)');
  }
}

async function readDirSorted(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (e) {
    fail({ file: dir }, path.basename(dir), `cannot read directory: ${(e as Error).message}`, 'Check its permissions (it must be readable and searchable by this user)');
  }
}

async function filesInDir(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readDirSorted(dir)) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const full = path.join(dir, name);
    const ext = path.extname(name);
    const st = await statOrNull(full);
    if (!st) continue;
    if (st.isDirectory() && !ext) found.push(...(await filesInDir(full)));
    else if (st.isFile() && (!ext || EXTENSIONS.includes(ext))) found.push(full);
  }
  return found;
}

/** The files that hold variables for NAME under DIR (group_vars/ or host_vars/), in merge order. */
export async function findVarsFiles(dir: string, name: string): Promise<string[]> {
  for (const ext of ['', ...EXTENSIONS]) {
    const candidate = path.join(dir, name + ext);
    const st = await statOrNull(candidate);
    if (!st) continue;
    return st.isDirectory() ? filesInDir(candidate) : [candidate];
  }
  return [];
}

/** Reads one vars file: YAML (or JSON) whose top level is a mapping of variable names. */
export async function readVarsFile(file: string, warn: WarnFn, label = file): Promise<Vars> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    fail(
      { file: label },
      path.basename(file),
      `cannot read vars file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'Make the file readable by this user (chmod a+r) or remove it',
    );
  }
  const vaulted = isVaulted(text);
  if (vaulted) text = decryptVaultText(text, { file: label, line: 1 }, path.basename(file), 'this vars file');
  const p = parseYaml(text, label, 'vars file');
  const root = p.doc.contents;
  if (isNull(root)) return {}; // empty files are ignored
  if (!isMap(root)) {
    fail(
      { file: label, line: p.lineOf(root) },
      path.basename(file),
      `a vars file must be a mapping of variable names to values, found ${nodeType(p, root)}`,
      'Write one "name: value" per line at the top level of the file',
    );
  }
  const vars: Vars = {};
  for (const [k, v] of varsOf(p, root, warn, 'this vars file', 'Variable names must be strings: quote the name or rename it')) vars[k] = v;
  if (vaulted) registerStrings(vars);
  return vars;
}

/** Loads and merges the group_vars/ (or host_vars/) files of NAME, if any. */
export class VarsDir {
  private exists?: boolean;
  private readonly cache = new Map<string, Vars>();
  /** Per NAME: the file each variable was last set in (for messages that say where a variable came from). */
  private readonly origins = new Map<string, Record<string, string>>();

  constructor(
    readonly dir: string,
    private readonly warn: WarnFn,
  ) {}

  private async check(): Promise<boolean> {
    if (this.exists === undefined) {
      const st = await statOrNull(this.dir);
      if (st && !st.isDirectory()) this.warn(`Found ${path.basename(this.dir)} that is not a directory, skipping: ${this.dir}`);
      this.exists = !!st && st.isDirectory();
    }
    return this.exists;
  }

  async load(name: string): Promise<Vars> {
    const hit = this.cache.get(name);
    if (hit) return hit;
    let vars: Vars = {};
    const origin: Record<string, string> = {};
    // like Ansible, skip "chroot"-style names that are paths
    if (name && !name.startsWith('/') && (await this.check())) {
      for (const f of await findVarsFiles(this.dir, name)) {
        const more = await readVarsFile(f, this.warn);
        vars = { ...vars, ...more };
        for (const k of Object.keys(more)) origin[k] = f;
      }
    }
    this.cache.set(name, vars);
    this.origins.set(name, origin);
    return vars;
  }

  /** Which file set each variable of NAME (after load(NAME)). */
  originOf(name: string): Record<string, string> {
    return this.origins.get(name) ?? {};
  }
}
