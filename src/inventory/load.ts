// loadInventory: reads an inventory file or directory, group_vars/ and host_vars/, and merges every
// host's variables by Ansible's precedence (see docs/inventory.md).

import fs from 'node:fs/promises';
import path from 'node:path';
import type { GroupSpec, HostSpec, Inventory, Vars } from '../types.js';
import { InventoryData } from './data.js';
import { defaultWarn, fail, type WarnFn } from './errors.js';
import { parseIniInventory } from './ini.js';
import { isIpAddress } from './ranges.js';
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
const IGNORED_EXTS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.cfg', '.retry'];
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

async function parseFile(file: string, data: InventoryData, warn: WarnFn): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    fail({ file }, path.basename(file), `cannot read inventory file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'Check that the file is readable by this user');
  }
  if (text.startsWith('#!')) {
    fail(
      { file, line: 1 },
      path.basename(file),
      'this file is an executable inventory script; only static YAML and INI inventories are supported',
      'Run it once ("ansible-inventory -i SCRIPT --list -y > static.yml") and use the static file, or move the script out of the inventory directory',
    );
  }
  if (isVaulted(text)) text = decryptVaultText(text, { file, line: 1 }, path.basename(file), 'this inventory file');
  data.currentSource = file;
  const ext = path.extname(file).toLowerCase();
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

export async function loadInventory(source: string, opts: LoadOptions = {}): Promise<Inventory> {
  const warn = opts.onWarning ?? defaultWarn;
  const data = new InventoryData(warn);
  await parseSource(source, data, warn);
  data.reconcile();

  // group_vars/ and host_vars/ live next to an inventory file or inside an inventory directory
  const st = await fs.stat(source);
  const base = st.isDirectory() ? source : path.dirname(source);
  const groupVars = new VarsDir(path.join(base, 'group_vars'), warn);
  const hostVars = new VarsDir(path.join(base, 'host_vars'), warn);

  const groupFileVars = new Map<string, Vars>();
  for (const name of data.groups.keys()) groupFileVars.set(name, await groupVars.load(name));

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
    // 2. group_vars/ files: all.yml first, then the same group order
    from(groupFileVars.get('all'), groupVars.originOf('all'));
    for (const g of ordered) from(groupFileVars.get(g.name), groupVars.originOf(g.name));
    // 3. host vars from inventory files, with Ansible's magic variables
    from(h.vars, `${source} (vars of host ${h.name})`);
    Object.assign(vars, {
      inventory_hostname: h.name,
      inventory_hostname_short: shortName(h.name),
      group_names: groupNames,
    });
    // 4. host_vars/ files
    from(await hostVars.load(h.name), hostVars.originOf(h.name));
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
