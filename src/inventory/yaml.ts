// The YAML inventory format (Ansible's "yaml" inventory plugin):
//   all:
//     hosts: { web1: { ansible_host: 10.0.0.1 }, web2: }
//     vars: { ntp: pool.ntp.org }
//     children: { db: { hosts: { db[01:03]: } } }

import type { InventoryData } from './data.js';
import { fail, type WarnFn } from './errors.js';
import { expandHostPattern } from './ranges.js';
import {
  entries,
  isMap,
  isNull,
  isScalar,
  nodeType,
  parseYaml,
  toValue,
  varsOf,
  whereOf,
  type Parsed,
  type YMap,
  type YNode,
} from './yamlfile.js';

const SECTIONS = ['vars', 'children', 'hosts'] as const;
type Section = (typeof SECTIONS)[number];

const SECTION_FIX: Record<Section, string> = {
  hosts: 'Write each host as a key ending in ":" under "hosts:" (e.g. "web1:" with its variables indented below), not as a list item "- web1"',
  children: 'Write each child group as a key ending in ":" under "children:" (e.g. "db:" with its hosts/vars/children indented below), not as a list item "- db"',
  vars: 'Write each variable as "name: value" under "vars:", not as a list item',
};

/** Whether parsed YAML looks like an inventory (a mapping at the top): used for files without extension. */
export function looksLikeYamlInventory(text: string): boolean {
  try {
    const p = parseYaml(text, '', '');
    return isMap(p.doc.contents);
  } catch {
    return false;
  }
}

export function parseYamlInventory(text: string, file: string, data: InventoryData, warn: WarnFn): void {
  const p = parseYaml(text, file, 'YAML inventory');
  const root = p.doc.contents;
  if (isNull(root)) {
    warn(`${file}: the YAML inventory is empty; it defines no hosts`);
    return;
  }
  if (!isMap(root)) {
    fail(
      whereOf(p, root),
      undefined,
      `a YAML inventory must be a mapping of group names, found ${nodeType(p, root)}`,
      'Start the file with "all:" and put "hosts:", "vars:" and "children:" under it',
    );
  }
  const top = entries(p, root, warn);
  const plugin = top.find((e) => e.key === 'plugin');
  if (plugin) {
    fail(
      whereOf(p, plugin.keyNode),
      'plugin',
      `this is the configuration of the dynamic inventory plugin "${String(toValue(p, plugin.value))}", not a static inventory`,
      `Inventory plugins are not run here: export what it finds with "ansible-inventory -i ${p.file} --list > inventory.json" and pass -i inventory.json instead`,
    );
  }
  for (const e of top) {
    if (typeof e.key !== 'string') {
      fail({ file, line: e.line }, String(e.key), `group name ${String(e.key)} is ${nodeType(p, e.keyNode)}, not a string`, 'Quote the group name');
    }
    if (!isNull(e.value) && !isMap(e.value)) {
      warn(`${file}:${e.line}: skipping "${e.key}" as this is not a valid group definition (found ${nodeType(p, e.value)}, expected a mapping with hosts/vars/children)`);
      continue;
    }
    parseGroup(p, e.key, isMap(e.value) ? e.value : null, data, warn, e.line);
  }
}

/** A section may be a mapping, empty, or a single name ("hosts: web1"). */
function sectionEntries(p: Parsed, group: string, section: Section, node: YNode | null, warn: WarnFn, line?: number) {
  if (isNull(node)) return [];
  if (isScalar(node) && typeof node.value === 'string') return [{ key: node.value, keyNode: node, value: null, line: p.lineOf(node) }];
  if (!isMap(node)) {
    fail(
      whereOf(p, node, line),
      section,
      `"${section}" of group "${group}" must be a mapping, found ${nodeType(p, node)}`,
      SECTION_FIX[section],
    );
  }
  return entries(p, node, warn);
}

function parseGroup(p: Parsed, name: string, node: YMap | null, data: InventoryData, warn: WarnFn, line?: number): void {
  data.addGroup(name, { file: p.file, line });
  if (!node) return;
  const all = entries(p, node, warn);
  for (const e of all) {
    if (typeof e.key !== 'string' || !(SECTIONS as readonly string[]).includes(e.key)) {
      warn(`${p.file}:${e.line}: skipping unexpected key (${String(e.key)}) in group (${name}), only "vars", "children" and "hosts" are valid`);
    }
  }
  // Ansible reads the sections in the order they are written.
  for (const e of all) {
    const section = e.key as Section;
    if (!(SECTIONS as readonly unknown[]).includes(section)) continue;
    if (section === 'vars') {
      if (isMap(e.value)) {
        const fix = 'Variable names must be strings: quote the name or rename it (e.g. "port_80: ...")';
        for (const [k, v, line] of varsOf(p, e.value, warn, `the vars of group "${name}"`, fix)) {
          data.setGroupVar(name, k, v, { file: p.file, line });
        }
      } else {
        for (const v of sectionEntries(p, name, section, e.value, warn, e.line)) data.setGroupVar(name, String(v.key), null);
      }
      continue;
    }
    const items = sectionEntries(p, name, section, e.value, warn, e.line);
    if (section === 'children') {
      for (const c of items) {
        if (typeof c.key !== 'string') {
          fail({ file: p.file, line: c.line }, String(c.key), `child group name ${String(c.key)} of group "${name}" is ${nodeType(p, c.keyNode)}, not a string`, 'Quote the group name');
        }
        if (!isNull(c.value) && !isMap(c.value)) {
          fail(
            { file: p.file, line: c.line },
            c.key,
            `child group "${c.key}" of group "${name}" must be a mapping (with hosts/vars/children) or empty, found ${nodeType(p, c.value)}`,
            `Write "${c.key}:" and indent its "hosts:", "vars:" or "children:" below it, or leave it empty`,
          );
        }
        parseGroup(p, c.key, isMap(c.value) ? c.value : null, data, warn, c.line);
        data.addChild(name, c.key, { file: p.file, line: c.line });
      }
    } else {
      for (const h of items) {
        if (typeof h.key !== 'string') {
          fail(
            { file: p.file, line: h.line },
            String(h.key),
            `host name ${String(h.key)} in group "${name}" is ${nodeType(p, h.keyNode)}, not a string`,
            'Enclose the host name in quotation marks (e.g. "\'10\':")',
          );
        }
        const where = { file: p.file, line: h.line };
        if (!isNull(h.value) && !isMap(h.value)) {
          fail(
            where,
            h.key,
            `host "${h.key}" in group "${name}" must have a mapping of variables or nothing, found ${nodeType(p, h.value)}`,
            `Indent the variables below "${h.key}:" as "name: value", or leave it empty ("${h.key}:")`,
          );
        }
        const vars = isMap(h.value)
          ? varsOf(p, h.value, warn, `host "${h.key}"`, 'Variable names must be strings: quote the name or rename it')
          : [];
        const { hosts, port } = expandHostPattern(h.key, where);
        for (const host of hosts) {
          data.addHost(host, name, port, where);
          for (const [k, v] of vars) data.setHostVar(host, k, structuredClone(v));
        }
      }
    }
  }
}
