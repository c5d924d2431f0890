// Ansible host patterns: "all", "*", "web1", "webservers", "web*", "~web\d+", "web:db", "web,db",
// "web:&prod", "web:!web3", "webservers[0]", "webservers[0:2]", "webservers[-1]".

import type { Inventory } from '../types.js';
import { fail } from './errors.js';
import { isAddressPattern } from './ranges.js';

const SUBSCRIPT_RE = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/s;

/** Splits "a:b,c" into single patterns; ":" is not a separator inside [ranges] or a host:port. */
export function splitHostPattern(pattern: string): string[] {
  let parts: string[];
  if (pattern.includes(',')) parts = pattern.split(',');
  else if (isAddressPattern(pattern)) parts = [pattern]; // 10.0.0.1, fe80::1, web[1:3], host:22
  else parts = pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  return parts.map((p) => p.trim()).filter((p) => p);
}

/** Python fnmatch.translate: * ? [seq] [!seq], anchored, case-sensitive. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) re += '\\[';
      else {
        let body = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        else if (body.startsWith('^')) body = `\\${body}`;
        re += `[${body}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's');
}

function matcher(pattern: string): RegExp {
  if (!pattern.startsWith('~')) return globToRegExp(pattern);
  try {
    // Python's re.match: anchored at the start only
    return new RegExp(`^(?:${pattern.slice(1)})`);
  } catch (e) {
    fail({ file: 'host pattern' }, pattern, `invalid regular expression: ${(e as Error).message}`, 'Fix the expression after "~" (it is a regular expression matched from the start of each name)');
  }
}

/** All hosts of a group and its descendants: the group's own hosts first, then each level below. */
function groupHosts(inv: Inventory, name: string): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  let level = [name];
  while (level.length) {
    const next: string[] = [];
    for (const g of level) {
      if (seen.has(g)) continue;
      seen.add(g);
      const spec = inv.groups.get(g);
      if (!spec) continue;
      for (const h of spec.hosts) if (inv.hosts.has(h)) out.add(h);
      next.push(...spec.children);
    }
    level = next;
  }
  // hosts listed directly under "all" (YAML) are also in "ungrouped", so nothing is lost
  if (name === 'all') for (const h of inv.hosts.keys()) out.add(h);
  return [...out];
}

function enumerate(inv: Inventory, expr: string): string[] {
  const re = matcher(expr);
  const results = new Set<string>();
  const groups = [...inv.groups.keys()].filter((g) => re.test(g));
  for (const g of groups) for (const h of groupHosts(inv, g)) results.add(h);
  if (!groups.length || expr.startsWith('~') || /[.?*[]/.test(expr)) {
    for (const h of inv.hosts.keys()) if (re.test(h)) results.add(h);
  }
  return [...results];
}

function matchOne(inv: Inventory, pattern: string): string[] {
  const p = pattern.startsWith('&') || pattern.startsWith('!') ? pattern.slice(1) : pattern;
  if (!p) return [];
  if (inv.hosts.has(p)) return [p];
  let expr = p;
  let sub: [number, number | undefined] | undefined;
  const m = p.startsWith('~') ? null : SUBSCRIPT_RE.exec(p);
  if (m) {
    expr = m[1]!;
    sub = m[2] !== undefined ? [Number(m[2]), undefined] : [Number(m[3]), m[5] ? Number(m[5]) : -1];
  }
  const hosts = enumerate(inv, expr);
  if (!sub) return hosts;
  const [start, end] = sub;
  if (end === undefined) {
    const i = start < 0 ? hosts.length + start : start;
    return i >= 0 && i < hosts.length ? [hosts[i]!] : [];
  }
  return hosts.slice(start, (end === -1 ? hosts.length - 1 : end) + 1);
}

/**
 * The hosts a pattern selects, in inventory order. Regular parts are unions, "&x" intersects,
 * "!x" excludes (applied in that order, as Ansible does). A pattern that matches nothing, or a
 * blank one, gives [].
 */
export function selectHosts(inv: Inventory, pattern: string): string[] {
  const parts = splitHostPattern(pattern);
  // Ansible reads a blank pattern as "all"; for a tool that changes hosts, blank selects nothing.
  if (!parts.length) return [];
  const regular = parts.filter((p) => !p.startsWith('&') && !p.startsWith('!'));
  const ordered = [...(regular.length ? regular : ['all']), ...parts.filter((p) => p.startsWith('&')), ...parts.filter((p) => p.startsWith('!'))];
  let selected = new Set<string>();
  for (const p of ordered) {
    const that = new Set(matchOne(inv, p));
    if (p.startsWith('!')) selected = new Set([...selected].filter((h) => !that.has(h)));
    else if (p.startsWith('&')) selected = new Set([...selected].filter((h) => that.has(h)));
    else for (const h of that) selected.add(h);
  }
  return [...inv.hosts.keys()].filter((h) => selected.has(h));
}
