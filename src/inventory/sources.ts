// Inventory sources besides static YAML/INI files, read as Ansible's plugins read them (#13):
//   - a host list, "-i 'web1,web2:2222,'" (the host_list plugin: a source that is not an existing
//     path and holds a comma);
//   - an executable inventory script (the script plugin): run with --list, its JSON gives groups
//     and, in _meta.hostvars, the host variables; without _meta.hostvars it is run with --host H
//     for every host;
//   - the JSON that "ansible-inventory --list" prints (the same format as a script's output), so an
//     exported dynamic inventory can be used as a file. Ansible itself does not read that file.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { InventoryData } from './data.js';
import { fail, type Where } from './errors.js';
import { splitPort } from './ranges.js';

/** How long an inventory script may run (Ansible waits forever). */
export const SCRIPT_TIMEOUT_MS = 60_000;

/** Ansible's host_list plugin takes a source that is not an existing path and contains a comma. */
export function isHostList(source: string): boolean {
  return source.includes(',') && !existsSync(source);
}

/** "a,b:2222,[fe80::1]:22," -> hosts in group ungrouped; blanks are skipped, ranges are not expanded. */
export function parseHostList(source: string, data: InventoryData): void {
  data.currentSource = undefined;
  for (const item of source.split(',')) {
    const h = item.trim();
    if (!h) continue;
    const { host, port } = splitPort(h);
    if (!data.hosts.has(host)) data.addHost(host, 'ungrouped', port, { file: source });
  }
}

/** Whether a file is run as an inventory script: it starts with "#!" (or is an ELF binary). */
export function isScriptText(text: string): boolean {
  return text.startsWith('#!') || text.startsWith('\x7fELF');
}

interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  error?: NodeJS.ErrnoException & { killed?: boolean };
}

function run(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    // No shell: the script path and the host name are passed as they are.
    execFile(path.resolve(file), args, { timeout: SCRIPT_TIMEOUT_MS, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
      resolve({ stdout, stderr, code: e ? (typeof e.code === 'number' ? e.code : null) : 0, error: e ?? undefined });
    });
  });
}

function stderrTail(stderr: string): string {
  const lines = stderr.trim().split('\n').slice(-8).join('\n');
  return lines ? `; its stderr:\n${lines}\n` : ' (nothing on stderr)';
}

const RUN_FIX = (file: string) => `Run "${file} --list" yourself: it must exit with status 0 and print a JSON object of groups (see docs/inventory.md)`;

function parseJson(text: string, where: Where, what: string, fix: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(where, undefined, `${what} is not valid JSON: ${(e as Error).message}`, fix);
  }
}

/** Runs an executable inventory script and adds what it prints. */
export async function runInventoryScript(file: string, data: InventoryData): Promise<void> {
  const where = { file };
  const r = await run(file, ['--list']);
  if (r.error && r.error.killed) {
    fail(where, undefined, `inventory script "${file} --list" did not finish within ${SCRIPT_TIMEOUT_MS / 1000} s and was stopped${stderrTail(r.stderr)}`, RUN_FIX(file));
  }
  if (r.error && r.code === null) {
    fail(where, undefined, `cannot run inventory script "${file} --list": ${r.error.code ?? r.error.message}`, 'Check its "#!" line names an interpreter that is installed, and that it is executable by this user');
  }
  if (r.code !== 0) fail(where, undefined, `inventory script "${file} --list" failed with exit status ${r.code}${stderrTail(r.stderr)}`, RUN_FIX(file));
  const out = parseJson(r.stdout, where, `the output of "${file} --list"`, RUN_FIX(file));
  await addListOutput(out, file, data, async (host) => {
    // As Ansible: the exit status of --host is not checked; empty output means no variables.
    const h = await run(file, ['--host', host]);
    if (h.error && h.code === null) fail(where, host, `cannot run "${file} --host ${host}": ${h.error.code ?? h.error.message}${stderrTail(h.stderr)}`, RUN_FIX(file));
    if (!h.stdout.trim()) return {};
    return parseJson(h.stdout, where, `the output of "${file} --host ${host}"`, `Make "${file} --host HOST" print the host's variables as a JSON object, or print them all in "_meta": {"hostvars": {...}} of --list`);
  });
}

/** The JSON of "ansible-inventory --list" (or of a script): an object with "_meta": {"hostvars": ...}. */
export function isListOutput(value: unknown): boolean {
  const meta = isObject(value) ? value._meta : undefined;
  return isObject(meta) && isObject(meta.hostvars);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Adds the groups, hosts and variables of a script's --list output, as Ansible's script plugin:
 * a group is {"hosts": [...], "vars": {...}, "children": [...]}, a list of hosts, or (with none of
 * those keys) the variables of a host with the group's name. Host variables come from
 * _meta.hostvars when it is there, else from hostVars(host).
 */
export async function addListOutput(out: unknown, file: string, data: InventoryData, hostVars?: (host: string) => Promise<unknown>): Promise<void> {
  const where = { file };
  const fix = 'Each group must be {"hosts": [names], "vars": {...}, "children": [groups]} (see "ansible-inventory --list")';
  if (!isObject(out)) fail(where, undefined, `the inventory JSON must be an object of groups, found ${Array.isArray(out) ? 'a list' : typeof out}`, fix);
  data.currentSource = file;
  const hosts = new Set<string>();
  let meta: Record<string, unknown> | undefined;
  for (const [name, raw] of Object.entries(out)) {
    if (name === '_meta') {
      if (isObject(raw) && 'hostvars' in raw) {
        if (!isObject(raw.hostvars)) fail(where, '_meta', '"_meta.hostvars" must be an object of host names', 'Write "_meta": {"hostvars": {"HOST": {"var": "value"}}}');
        meta = raw.hostvars;
      }
      continue;
    }
    data.addGroup(name, where);
    const g = !isObject(raw) ? { hosts: raw } : ['hosts', 'vars', 'children'].some((k) => k in raw) ? raw : { hosts: [name], vars: raw };
    if ('hosts' in g) {
      if (!Array.isArray(g.hosts)) fail(where, name, `group "${name}" has bad data for its host list: ${JSON.stringify(g.hosts)}`, fix);
      for (const h of g.hosts) {
        if (typeof h !== 'string') fail(where, name, `group "${name}" lists a host that is not a string: ${JSON.stringify(h)}`, 'Host names must be strings');
        hosts.add(h);
        data.addHost(h, name, undefined, where);
      }
    }
    if ('vars' in g) {
      if (!isObject(g.vars)) fail(where, name, `group "${name}" has bad data for its variables: ${JSON.stringify(g.vars)}`, fix);
      for (const [k, v] of Object.entries(g.vars)) data.setGroupVar(name, k, v, where);
    }
    if ('children' in g && isObject(raw)) {
      if (!Array.isArray(g.children)) fail(where, name, `group "${name}" has bad data for its children: ${JSON.stringify(g.children)}`, fix);
      for (const c of g.children) {
        if (typeof c !== 'string') fail(where, name, `group "${name}" lists a child group that is not a string: ${JSON.stringify(c)}`, 'Group names must be strings');
        data.addGroup(c, where);
        data.addChild(name, c, where);
      }
    }
  }
  for (const h of hosts) {
    const vars = meta ? (meta[h] ?? {}) : hostVars ? await hostVars(h) : {};
    if (!isObject(vars)) fail(where, h, `the variables of host "${h}" must be an object, found ${JSON.stringify(vars)}`, 'Give each host an object of variables');
    for (const [k, v] of Object.entries(vars)) data.setHostVar(h, k, v);
  }
  data.currentSource = undefined;
}
