// The inventory being built: groups, hosts and the edges between them, with the same rules as
// Ansible's InventoryData (implicit "all" and "ungrouped", no cycles, ungrouped fix-up).

import path from 'node:path';
import type { Vars } from '../types.js';
import { describeType, fail, type WarnFn, type Where } from './errors.js';

export interface GroupData {
  name: string;
  /** Hosts listed directly in this group, in the order they were added. */
  hosts: string[];
  hostSet: Set<string>;
  children: string[];
  parents: string[];
  /** Variables set on the group by inventory files (not group_vars/). */
  vars: Vars;
  priority: number;
  depth: number;
}

export interface HostData {
  name: string;
  /** Variables set on the host by inventory files (not host_vars/). */
  vars: Vars;
  /** Groups the host was put in directly. */
  groups: string[];
}

const INVALID_GROUP_CHARS = /^[\d\W]|[^\w]/u;

export class InventoryData {
  readonly groups = new Map<string, GroupData>();
  readonly hosts = new Map<string, HostData>();
  private sourceFile: string | null = null;
  private sourceDir: string | null = null;

  /** The inventory file being parsed; new hosts record it as inventory_file / inventory_dir. */
  set currentSource(file: string | undefined) {
    this.sourceFile = file ? path.resolve(file) : null;
    this.sourceDir = this.sourceFile ? path.dirname(this.sourceFile) : null;
  }
  private readonly badGroupNames: string[] = [];

  constructor(readonly warn: WarnFn) {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  addGroup(name: string, where?: Where): GroupData {
    let g = this.groups.get(name);
    if (!g) {
      if (!name) fail(where, name, 'a group has an empty name', 'Give the group a name');
      if (INVALID_GROUP_CHARS.test(name)) this.badGroupNames.push(name);
      g = { name, hosts: [], hostSet: new Set(), children: [], parents: [], vars: {}, priority: 1, depth: 0 };
      this.groups.set(name, g);
    }
    return g;
  }

  addHost(name: string, group: string | undefined, port: number | undefined, where?: Where): HostData {
    if (!name) fail(where, group, 'a host has an empty name', 'Remove the empty entry or give the host a name');
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, vars: {}, groups: [] };
      this.hosts.set(name, h);
      h.vars.inventory_file = this.sourceFile;
      h.vars.inventory_dir = this.sourceDir;
      if (port !== undefined) h.vars.ansible_port = port;
    } else if (port !== undefined && h.vars.ansible_port !== port) {
      // Ansible applies a ":port" only where the host is first defined.
      this.warn(
        `${where?.file ?? 'inventory'}${where?.line ? `:${where.line}` : ''}: port ${port} for host "${name}" is ignored ` +
          'because the host was already defined earlier; set ansible_port where the host first appears',
      );
    }
    if (group !== undefined) {
      const g = this.groups.get(group)!;
      if (!g.hostSet.has(name)) {
        g.hostSet.add(name);
        g.hosts.push(name);
        h.groups.push(group);
      }
    }
    return h;
  }

  setGroupVar(group: string, key: string, value: unknown, where?: Where): void {
    const g = this.groups.get(group)!;
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) {
        fail(where, key, `ansible_group_priority of group "${group}" must be an integer, found ${describeType(value)} (${JSON.stringify(value)})`, 'Set it to a whole number such as 10; higher wins over sibling groups');
      }
      g.priority = n;
      return;
    }
    g.vars[key] = value;
  }

  setHostVar(host: string, key: string, value: unknown): void {
    this.hosts.get(host)!.vars[key] = value;
  }

  /** All groups above `name` (parents, their parents, ...). */
  ancestors(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [...(this.groups.get(name)?.parents ?? [])];
    while (stack.length) {
      const g = stack.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      stack.push(...this.groups.get(g)!.parents);
    }
    return seen;
  }

  addChild(parent: string, child: string, where?: Where): void {
    const p = this.groups.get(parent)!;
    const c = this.groups.get(child)!;
    if (parent === child) {
      fail(where, child, `group "${child}" is listed as a child of itself`, `Remove "${child}" from the children of "${parent}"`);
    }
    if (p.children.includes(child)) return;
    if (this.ancestors(parent).has(child)) {
      fail(
        where,
        child,
        `adding group "${child}" as a child of "${parent}" creates a loop ("${child}" is already above "${parent}")`,
        `Remove "${child}" from the children of "${parent}" or "${parent}" from the groups under "${child}"`,
      );
    }
    p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  private ancestorCache?: Map<string, Set<string>>;

  /** Groups a host is in, directly or through parent groups, without "all". */
  hostGroupClosure(host: string): Set<string> {
    const out = new Set<string>();
    for (const g of this.hosts.get(host)!.groups) {
      out.add(g);
      let anc = this.ancestorCache?.get(g);
      if (!anc) {
        anc = this.ancestors(g);
        this.ancestorCache?.set(g, anc);
      }
      for (const a of anc) out.add(a);
    }
    out.delete('all');
    return out;
  }

  /** Call once the group graph is final: ancestors are then computed once per group. */
  freeze(): void {
    this.ancestorCache = new Map();
  }

  /** Ansible's reconcile_inventory: every group under "all", hosts without a group in "ungrouped". */
  reconcile(): void {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name);
    }
    this.freeze();
    const ungrouped = this.groups.get('ungrouped')!;
    for (const h of this.hosts.values()) {
      const closure = this.hostGroupClosure(h.name);
      if (ungrouped.hostSet.has(h.name)) {
        closure.delete('ungrouped');
        if (closure.size > 0) {
          ungrouped.hostSet.delete(h.name);
          h.groups = h.groups.filter((n) => n !== 'ungrouped');
        }
      } else if (closure.size === 0) {
        this.addHost(h.name, 'ungrouped', undefined);
      }
    }
    ungrouped.hosts = ungrouped.hosts.filter((n) => ungrouped.hostSet.has(n));
    this.computeDepths();
    for (const name of this.hosts.keys()) {
      if (this.groups.has(name)) this.warn(`Found both group and host with same name: ${name}`);
    }
    if (this.badGroupNames.length) {
      this.warn(
        `Invalid characters were found in group names but not replaced: ${this.badGroupNames.join(', ')} ` +
          '(Ansible warns about these too; group names should use only letters, digits and "_")',
      );
    }
  }

  /** depth = the longest path from "all"; deeper groups override the groups above them. */
  private computeDepths(): void {
    const memo = new Map<string, number>();
    const depth = (name: string): number => {
      const known = memo.get(name);
      if (known !== undefined) return known;
      const g = this.groups.get(name)!;
      const d = g.parents.length ? Math.max(...g.parents.map((p) => depth(p) + 1)) : 0;
      memo.set(name, d);
      return d;
    };
    for (const g of this.groups.values()) g.depth = depth(g.name);
  }

  /** Ansible's sort_groups: by depth, then ansible_group_priority, then name; later ones win. */
  sortGroups(names: Iterable<string>): GroupData[] {
    return [...names]
      .map((n) => this.groups.get(n)!)
      .sort((a, b) => a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
