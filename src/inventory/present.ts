// What `ansible-inventory --list` and `ansible-inventory --graph` print, for an Inventory.

import type { Inventory } from '../types.js';
import { fail } from './errors.js';

/** Ansible's internal/magic variables, which ansible-inventory leaves out of hostvars. */
export const INTERNAL_VARS = new Set([
  'ansible_config_file',
  'ansible_diff_mode',
  'ansible_facts',
  'ansible_forks',
  'ansible_inventory_sources',
  'ansible_limit',
  'ansible_playbook_python',
  'ansible_run_tags',
  'ansible_skip_tags',
  'ansible_verbosity',
  'ansible_version',
  'inventory_dir',
  'inventory_file',
  'inventory_hostname',
  'inventory_hostname_short',
  'groups',
  'group_names',
  'omit',
  'hostvars',
  'playbook_dir',
  'play_hosts',
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** ansible-inventory dumps JSON with sorted keys; build objects in that order so output matches. */
function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeysDeep(v[k]);
  return out;
}

function publicVars(vars: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(vars).filter(([k]) => !INTERNAL_VARS.has(k)));
}

/** Like `ansible-inventory --host NAME`: the host's merged variables, without magic variables. */
export function inventoryHost(inv: Inventory, name: string): Record<string, unknown> {
  const h = inv.hosts.get(name);
  if (!h) throw new Error(`host "${name}" is not in the inventory`);
  return sortKeysDeep(publicVars(h.vars)) as Record<string, unknown>;
}

/**
 * Like `ansible-inventory --list`: one entry per non-empty group ({hosts, children}), "all"
 * with its children only, and `_meta.hostvars` with each host's merged variables (without
 * Ansible's magic variables; hosts without variables are left out, as Ansible does).
 */
export function inventoryList(inv: Inventory): object {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const g = inv.groups.get(name);
    if (!g) return;
    const entry: { hosts?: string[]; children?: string[] } = {};
    if (name !== 'all') {
      const hosts = g.hosts.filter((h) => inv.hosts.has(h));
      if (hosts.length) entry.hosts = hosts;
    }
    if (g.children.length) entry.children = [...g.children];
    if (entry.hosts || entry.children) out[name] = entry;
    for (const c of g.children) visit(c);
  };
  visit('all');
  const hostvars: Record<string, unknown> = {};
  for (const h of inv.hosts.values()) {
    const vars = publicVars(h.vars);
    if (Object.keys(vars).length) hostvars[h.name] = vars;
  }
  out._meta = { hostvars };
  return sortKeysDeep(out) as object;
}

/**
 * Like `ansible-inventory --graph [group]`:
 *   @all:
 *     |--@ungrouped:
 *     |--@web:
 *     |  |--web1
 * Child groups come before hosts, both in inventory order; "all" shows no hosts of its own.
 */
export function inventoryGraph(inv: Inventory, group = 'all'): string {
  if (!inv.groups.has(group)) {
    fail({ file: inv.source }, group, `"${group}" is not a group of this inventory`, `Pass a group name (one of: ${[...inv.groups.keys()].join(', ')})`);
  }
  const lines: string[] = [];
  const name = (text: string, depth: number) => (depth ? `${'  |'.repeat(depth)}--${text}` : text);
  const walk = (g: string, depth: number): void => {
    const spec = inv.groups.get(g)!;
    lines.push(name(`@${g}:`, depth));
    for (const c of spec.children) walk(c, depth + 1);
    if (g !== 'all') for (const h of spec.hosts) lines.push(name(h, depth + 1));
  };
  walk(group, 0);
  return lines.join('\n');
}
