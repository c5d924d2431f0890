// loadInventory: reads an inventory file or directory, group_vars/ and host_vars/, and merges every
// host's variables by Ansible's precedence (see docs/inventory.md).

import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { GroupSpec, HostSpec, Inventory, Vars } from '../types.js';
import { InventoryData } from './data.js';
import { defaultWarn, fail, type WarnFn } from './errors.js';
import { parseIniInventory } from './ini.js';
import { isIpAddress } from './ranges.js';
import { addListOutput, isHostList, isListOutput, isScriptText, parseHostList, runInventoryScript } from './sources.js';
import { VarsDir } from './vars-dirs.js';
import { decryptVaultText, isVaulted } from './vault.js';
import { looksLikeYamlInventory, parseYamlInventory } from './yaml.js';

export interface LoadOptions {
  /** -e variables: the highest precedence, over everything in the inventory. */
  extraVars?: Vars;
  /** Receives warnings (duplicate keys, ignored entries...). Default: printed to stderr as "[WARNING]: ...". */
  onWarning?: WarnFn;
}

/** Names Ansible skips in an inventory directory. */
const IGNORED_NAMES = /^\.|^host_vars$|^group_vars$|^vars_plugins$/;
// INVENTORY_IGNORE_EXTS: REJECT_EXTS + .orig .ini .cfg .retry (so "hosts.ini" in a directory is skipped, as in Ansible).
const IGNORED_EXTS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];
const YAML_EXTS = ['.yml', '.yaml', '.json'];

export function isIgnoredInventoryName(name: string): boolean {
  return IGNORED_NAMES.test(name) || IGNORED_EXTS.some((ext) => name.endsWith(ext));
}

/** A file without extension is YAML if it parses to a mapping or plainly starts like YAML. */
function looksLikeYaml(text: string): boolean {
  if (looksLikeYamlInventory(text)) return true;
  const first = text.split(/\r?\n/).find((l) => l.trim() && !/^\s*[#;]/.test(l));
  return first !== undefined && (first.trim() === '---' || /^[^\s=[\]#;][^=\s]*:(\s|$)/.test(first));
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function parseFile(file: string, data: InventoryData, warn: WarnFn): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    fail({ file }, path.basename(file), `cannot read inventory file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'Check that the file is readable by this user');
  }
  if (isScriptText(text)) {
    const executable = await fs.access(file, fsConstants.X_OK).then(() => true, () => false);
    if (executable) return runInventoryScript(file, data);
    fail(
      { file, line: 1 },
      path.basename(file),
      'this file starts with "#!" like an inventory script, but it is not executable',
      `Make it executable (chmod +x ${file}) to have it run with --list as Ansible runs inventory scripts, or remove the "#!" line if it is a static inventory`,
    );
  }
  if (isVaulted(text)) text = decryptVaultText(text, { file, line: 1 }, path.basename(file), 'this inventory file');
  const ext = path.extname(file).toLowerCase();
  if ((ext === '.json' || ext === '') && text.trimStart().startsWith('{')) {
    const json = jsonOrUndefined(text);
    if (isListOutput(json)) return addListOutput(json, file, data);
  }
  data.currentSource = file;
  if (YAML_EXTS.includes(ext) || (ext === '' && looksLikeYaml(text))) parseYamlInventory(text, file, data, warn);
  else parseIniInventory(text, file, data);
  data.currentSource = undefined;
}

async function parseSource(source: string, data: InventoryData, warn: WarnFn): Promise<void> {
  const st = await fs.stat(source).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') {
      fail({ file: source }, undefined, 'inventory not found', 'Pass an existing inventory file or directory with -i (e.g. -i inventory/hosts.yml)');
    }
    fail({ file: source }, undefined, `cannot read inventory: ${e.code ?? e.message}`, 'Check that the path is readable by this user');
  });
  if (!st.isDirectory()) return parseFile(source, data, warn);
  let names: string[];
  try {
    names = (await fs.readdir(source)).sort();
  } catch (e) {
    fail({ file: source }, undefined, `cannot read inventory directory: ${(e as NodeJS.ErrnoException).code}`, 'Check that the directory is readable and searchable by this user');
  }
  for (const name of names) {
    if (isIgnoredInventoryName(name)) continue;
    await parseSource(path.join(source, name), data, warn);
  }
}

function shortName(name: string): string {
  return isIpAddress(name) ? name : name.split('.')[0]!;
}

/**
 * Reads one inventory source or several (-i given several times): each is a file, a directory, an
 * executable script or a host list ("a,b,"). They are merged in order, as Ansible merges them:
 * later sources add hosts and groups and override the variables they set again; each source has
 * its own group_vars/ and host_vars/, applied source by source.
 */
export async function loadInventory(sources: string | readonly string[], opts: LoadOptions = {}): Promise<Inventory> {
  const list = typeof sources === 'string' ? [sources] : [...sources];
  if (list.length === 0) fail(undefined, undefined, 'no inventory source given', 'Pass an inventory file, directory, script or host list with -i');
  const source = list.join(', ');
  const warn = opts.onWarning ?? defaultWarn;
  const data = new InventoryData(warn);
  // group_vars/ and host_vars/ live next to an inventory file or inside an inventory directory
  const bases: string[] = [];
  for (const s of list) {
    if (isHostList(s)) {
      parseHostList(s, data);
      continue;
    }
    await parseSource(s, data, warn);
    bases.push((await fs.stat(s)).isDirectory() ? s : path.dirname(s));
  }
  data.reconcile();

  const dirs = new Map<string, VarsDir>();
  const varsDir = (dir: string) => dirs.get(dir) ?? dirs.set(dir, new VarsDir(dir, warn)).get(dir)!;
  const groupDirs = bases.map((b) => varsDir(path.join(b, 'group_vars')));
  const hostDirs = bases.map((b) => varsDir(path.join(b, 'host_vars')));

  const groupFileVars = new Map<string, Vars>();
  for (const name of data.groups.keys()) {
    const vars: Vars = {};
    for (const d of groupDirs) Object.assign(vars, await d.load(name));
    groupFileVars.set(name, vars);
  }

  const groups = new Map<string, GroupSpec>();
  for (const g of data.groups.values()) {
    const vars: Vars = structuredClone({ ...g.vars, ...groupFileVars.get(g.name) });
    if (g.priority !== 1) vars.ansible_group_priority = g.priority;
    groups.set(g.name, { name: g.name, hosts: [...g.hosts], children: [...g.children], vars });
  }

  const all = data.groups.get('all')!;
  const hosts = new Map<string, HostSpec>();
  for (const h of data.hosts.values()) {
    const closure = data.hostGroupClosure(h.name);
    const ordered = data.sortGroups(closure);
    const groupNames = [...closure].sort();
    const vars: Vars = {};
    // Where each variable was last set, for messages (HostSpec.origins).
    const origins: Record<string, string> = {};
    const from = (more: Vars | undefined, where: string | Record<string, string>) => {
      Object.assign(vars, more);
      for (const k of Object.keys(more ?? {})) origins[k] = typeof where === 'string' ? where : (where[k] ?? source);
    };
    // 1. group vars from inventory files: "all" first, then groups shallow to deep
    from(all.vars, `${source} (vars of group all)`);
    for (const g of ordered) from(g.vars, `${source} (vars of group ${g.name})`);
    // 2. group_vars/ files: all.yml first, then the same group order; source by source, as
    //    Ansible's vars plugins run once per inventory source
    for (const d of groupDirs) from(await d.load('all'), d.originOf('all'));
    for (const d of groupDirs) for (const g of ordered) from(await d.load(g.name), d.originOf(g.name));
    // 3. host vars from inventory files, with Ansible's magic variables
    from(h.vars, `${source} (vars of host ${h.name})`);
    Object.assign(vars, {
      inventory_hostname: h.name,
      inventory_hostname_short: shortName(h.name),
      group_names: groupNames,
    });
    // 4. host_vars/ files
    for (const d of hostDirs) from(await d.load(h.name), d.originOf(h.name));
    // 5. extra vars (-e)
    from(opts.extraVars, '-e (extra vars)');
    checkConnectionVars(h.name, vars, source);
    hosts.set(h.name, { name: h.name, groups: ['all', ...groupNames], vars: structuredClone(vars), origins });
  }
  return { hosts, groups, source };
}

/** Characters no host name or IP address has: a value with one is a mistake (or an injection attempt). */
const BAD_ADDRESS = /[\s\u0000-\u001f\u007f;|&$`'"<>(){}*?!\\,=#~^]/;

/**
 * The connection variables every host ends up with, checked before anything connects: the address
 * (ansible_host, else the host name) must look like a host name or IP address, the port must be a
 * whole number 1-65535. Without this, "x;touch /tmp/pwned" went to DNS and "22; id" became port NaN.
 */
function checkConnectionVars(host: string, vars: Vars, source: string): void {
  if (vars.ansible_connection === 'local') return;
  for (const key of ['ansible_host', 'ansible_ssh_host']) {
    const v = vars[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v === '' || BAD_ADDRESS.test(v)) {
      fail({ file: source }, key, `host "${host}": ${key} ${JSON.stringify(v)} is not a host name or IP address`, `Set ${key} to the host's DNS name or IP address (letters, digits, ".", "-", ":" only)`);
    }
  }
  if (vars.ansible_host === undefined && vars.ansible_ssh_host === undefined && BAD_ADDRESS.test(host)) {
    fail({ file: source }, host, `host name "${host}" is used as its address (no ansible_host), but it is not a host name or IP address`, 'Rename the host, or set ansible_host to its DNS name or IP address');
  }
  for (const key of ['ansible_port', 'ansible_ssh_port']) {
    const v = vars[key];
    if (v === undefined || v === null) continue;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      fail({ file: source }, key, `host "${host}": ${key} ${JSON.stringify(v)} is not a port number`, `Set ${key} to a whole number from 1 to 65535`);
    }
  }
}
