// The INI inventory format (Ansible's "ini" inventory plugin):
//   web1 ansible_host=10.0.0.1        <- before any section: group "ungrouped"
//   [web]                             <- hosts, with inline key=value vars (shell-style quoting)
//   web[01:04].example.com:2222 ansible_user=admin
//   [web:vars]                        <- one key=value per line
//   ntp_server = pool.ntp.org
//   [prod:children]                   <- group names
//   web
// Values are converted like Python's ast.literal_eval, as Ansible does ("22" -> 22, "True" -> true).

import type { InventoryData } from './data.js';
import { fail, type Where } from './errors.js';
import { parsePythonLiteral } from './pyliteral.js';
import { expandHostPattern, splitPort } from './ranges.js';
import { ShlexError, shlexSplit } from './shlex.js';

const SECTION_RE = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME_RE = /^([^:\]\s]+)\s*(?:#.*)?$/;

interface Pending {
  line: number;
  state: 'vars' | 'children';
  parents: string[];
}

export function parseIniInventory(text: string, file: string, data: InventoryData): void {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  // Ansible reads the file as if it began with "[ungrouped]".
  let group = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  const pending = new Map<string, Pending>();

  lines.forEach((raw, idx) => {
    const where: Where = { file, line: idx + 1 };
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;

    const m = SECTION_RE.exec(line);
    if (m) {
      group = m[1]!;
      const type = m[2] ?? 'hosts';
      if (type !== 'hosts' && type !== 'vars' && type !== 'children') {
        fail(where, `[${group}:${type}]`, `section [${group}:${type}] has unknown type "${type}"`, `Use [${group}] for hosts, [${group}:vars] for variables or [${group}:children] for child groups`);
      }
      state = type;
      if (!data.groups.has(group)) {
        // [g:vars] alone does not declare g; remember it and check at the end.
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: idx + 1, state: 'vars', parents: [] });
        data.addGroup(group, where);
      }
      const p = pending.get(group);
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(group, pending, data, where);
        else pending.delete(group);
      }
      return;
    }
    if (/^\[[^\]\s]+\]\s*;/.test(line)) {
      fail(where, line, `section header ${line} is followed by a ";" comment`, 'Only "#" comments may follow a section header on the same line: write "# ..." or move the comment to its own line');
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      fail(
        where,
        line,
        `invalid section header ${line}`,
        'Write sections as [name], [name:vars] or [name:children] with no spaces and no other ":" or "]" in the name',
      );
    }

    if (state === 'hosts') parseHostLine(line, group, data, where);
    else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        fail(where, line, `expected key=value in section [${group}:vars], got "${line}"`, `Write one variable per line as "name=value" (or move "${line}" to a [${group}] section if it is a host)`);
      }
      const key = line.slice(0, eq).trim();
      if (!key) fail(where, line, `the variable in "${line}" has no name`, 'Write it as "name=value"');
      data.setGroupVar(group, key, parsePythonLiteral(line.slice(eq + 1).trim()), where);
    } else {
      const gm = GROUP_NAME_RE.exec(line);
      if (!gm) {
        fail(where, line, `expected a group name in section [${group}:children], got "${line}"`, `List one child group name per line (hosts belong in a [${group}] section)`);
      }
      const child = gm[1]!;
      if (!data.groups.has(child)) {
        const p = pending.get(child);
        if (!p) pending.set(child, { line: idx + 1, state: 'children', parents: [group] });
        else p.parents.push(group);
      } else data.addChild(group, child, where);
    }
  });

  // Anything still pending was referenced but never declared; Ansible reports the first one.
  for (const [name, p] of pending) {
    const where = { file, line: p.line };
    if (p.state === 'vars') {
      fail(where, `[${name}:vars]`, `section [${name}:vars] is for group "${name}", which is not defined anywhere`, `Declare the group with a [${name}] section (it may be empty) or list it under a [parent:children] section that has its own [${name}] section`);
    }
    const parent = p.parents[p.parents.length - 1]!;
    const fix = data.hosts.has(name)
      ? `"${name}" is a host: list it in a [${parent}] section instead, or declare a group with a [${name}] section`
      : `Declare the group with a [${name}] or [${name}:children] section (it may be empty)`;
    fail(where, name, `section [${parent}:children] includes undefined group "${name}"`, fix);
  }
}

function addPendingChildren(group: string, pending: Map<string, Pending>, data: InventoryData, where: Where): void {
  const p = pending.get(group)!;
  pending.delete(group);
  for (const parent of p.parents) {
    data.addChild(parent, group, { file: where.file, line: p.line });
    const pp = pending.get(parent);
    if (pp?.state === 'children') addPendingChildren(parent, pending, data, where);
  }
}

function parseHostLine(line: string, group: string, data: InventoryData, where: Where): void {
  let tokens: string[];
  try {
    tokens = shlexSplit(line);
  } catch (e) {
    const why = e instanceof ShlexError ? e.message : String(e);
    fail(where, line, `cannot parse host line "${line}": ${why.toLowerCase()}`, 'Close every quote; to put a quote in a value, wrap the value in the other kind of quote');
  }
  const pattern = tokens[0];
  if (pattern === undefined) return;
  if (pattern.trim() === '---') {
    fail(where, pattern, `host "${pattern}" is not valid; "---" is normally a sign this is a YAML file`, 'Give the file a .yml or .yaml extension so it is read as YAML');
  }
  if (pattern.trim().endsWith(':') && splitPort(pattern).port === undefined) {
    fail(where, pattern, `host "${pattern}" ends in ":"`, 'Remove the trailing ":" (":" is only for a port, as in host:2222); if this is YAML, give the file a .yml extension');
  }
  const vars: Array<[string, unknown]> = [];
  for (const t of tokens.slice(1)) {
    const eq = t.indexOf('=');
    if (eq < 0) {
      fail(where, t, `expected key=value host variable assignment after host "${pattern}", got "${t}"`, 'Write host variables as name=value; quote values with spaces (name="a b") and start comments with "#"');
    }
    if (eq === 0) fail(where, t, `the host variable "${t}" has no name`, 'Write it as name=value');
    vars.push([t.slice(0, eq), parsePythonLiteral(t.slice(eq + 1))]);
  }
  const { hosts, port } = expandHostPattern(pattern, where);
  for (const host of hosts) {
    data.addHost(host, group, port, where);
    for (const [k, v] of vars) data.setHostVar(host, k, structuredClone(v));
  }
}
