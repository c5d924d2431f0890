// Reading YAML the way Ansible (PyYAML, YAML 1.1) does, keeping line numbers for messages:
// yes/no/on/off are booleans, 0644 is octal, "<<" merges, duplicate keys warn and the last wins,
// !unsafe is a plain string and !vault is decrypted (src/inventory/vault.ts).

// The yaml package itself, not zx's copy of it: zx would load its whole vendor bundle (~0.15 s of
// CPU) for every command that reads an inventory (#14).
import { YAML } from '../yaml.js';
import { pyyamlScalarTags } from './yaml11.js';
import { fail, type WarnFn, type Where } from './errors.js';
import { decryptVaultText } from './vault.js';

/* The parts of the yaml package's node classes we use. */
export interface YNode {
  range?: [number, number, number];
  tag?: string;
  toJS(doc: YDoc): unknown;
}
export interface YScalar extends YNode {
  value: unknown;
}
export interface YPair {
  key: YNode | null;
  value: YNode | null;
}
export interface YMap extends YNode {
  items: YPair[];
}
export interface YSeq extends YNode {
  items: (YNode | null)[];
}
export interface YDoc {
  contents: YNode | null;
  errors: { message: string; linePos?: [{ line: number; col: number }] }[];
  warnings: { message: string; linePos?: [{ line: number; col: number }] }[];
}

export interface Parsed {
  doc: YDoc;
  file: string;
  lineOf(node: YNode | null | undefined): number | undefined;
}

export interface Entry {
  key: unknown;
  keyNode: YNode | null;
  /** The value, aliases resolved; null for an empty value. */
  value: YNode | null;
  line?: number;
}

const Y = YAML as unknown as {
  parseDocument(src: string, opts: object): YDoc;
  LineCounter: new () => { linePos(offset: number): { line: number; col: number } };
  isMap(n: unknown): n is YMap;
  isSeq(n: unknown): n is YSeq;
  isScalar(n: unknown): n is YScalar;
  isAlias(n: unknown): n is YNode & { resolve(doc: YDoc): YNode | undefined };
  isPair(n: unknown): n is YPair;
  visit(node: unknown, visitor: (key: unknown, node: unknown, path: readonly unknown[]) => void): void;
};

export const isMap = (n: unknown): n is YMap => Y.isMap(n);
export const isSeq = (n: unknown): n is YSeq => Y.isSeq(n);
export const isScalar = (n: unknown): n is YScalar => Y.isScalar(n);

const tags = (defaults: { tag: string }[]) => [
  // PyYAML's booleans and numbers; dates stay the text written (a Date would surprise templates).
  ...pyyamlScalarTags(defaults),
  { tag: '!unsafe', resolve: (s: string) => s },
  { tag: '!vault', resolve: (s: string) => s },
];

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** Parses YAML text; a syntax error becomes an InventoryError naming file and line. */
export function parseYaml(text: string, file: string, what: string): Parsed {
  const lc = new Y.LineCounter();
  const doc = Y.parseDocument(text, { lineCounter: lc, version: '1.1', uniqueKeys: false, customTags: tags, prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    fail({ file, line }, undefined, `${what} is not valid YAML: ${firstLine(err.message)}`, 'Fix the YAML at that line (check the indentation, the ":" after keys and the quoting)');
  }
  const lineOf = (node: YNode | null | undefined) => (node?.range ? lc.linePos(node.range[0]).line : undefined);
  return { doc, file, lineOf };
}

export function deref(p: Parsed, node: YNode | null | undefined): YNode | null {
  if (!node) return null;
  if (Y.isAlias(node)) return node.resolve(p.doc) ?? null;
  return node;
}

/** Null, "~" or an empty value. */
export function isNull(node: YNode | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

function isMergeKey(node: YNode | null): boolean {
  return isScalar(node) && typeof node.value === 'symbol';
}

/**
 * The entries of a mapping, in order, as PyYAML builds them: "<<" merges come in below the
 * explicit keys, and a repeated key keeps its first position but takes its last value (with
 * a warning, as Ansible gives).
 */
export function entries(p: Parsed, map: YMap, warn: WarnFn): Entry[] {
  const out: Entry[] = [];
  const index = new Map<unknown, number>();
  const merged: Entry[] = [];
  for (const pair of map.items) {
    if (isMergeKey(pair.key)) {
      const src = deref(p, pair.value);
      const maps = isSeq(src) ? src.items.map((n) => deref(p, n)) : [src];
      for (const m of maps) {
        if (!isMap(m)) {
          fail({ file: p.file, line: p.lineOf(pair.key) }, '<<', 'a "<<" merge must point at a mapping or a list of mappings', 'Merge only anchors of mappings (e.g. "<<: *defaults")');
        }
        merged.push(...entries(p, m, warn));
      }
      continue;
    }
    const keyNode = deref(p, pair.key);
    const key = isScalar(keyNode) ? keyNode.value : keyNode ? keyNode.toJS(p.doc) : null;
    const entry: Entry = { key, keyNode, value: deref(p, pair.value), line: p.lineOf(pair.key) };
    const at = index.get(key);
    if (at !== undefined) {
      warn(`${p.file}:${entry.line}: found a duplicate dict key (${String(key)}). Using last defined value only.`);
      out[at] = { ...entry, line: out[at]!.line };
    } else {
      index.set(key, out.length);
      out.push(entry);
    }
  }
  const mergedOnly = merged.filter((e) => !index.has(e.key));
  const seen = new Set<unknown>();
  const first = mergedOnly.filter((e) => (seen.has(e.key) ? false : (seen.add(e.key), true)));
  return [...first, ...out];
}

const decrypted = new WeakSet<object>();

/**
 * Decrypts every `!vault` value of the document in place, once (so an alias of one is decrypted
 * too). Messages name the file, the line and the variable; the plaintext is registered as a secret.
 */
export function decryptVaultValues(p: Parsed): void {
  if (decrypted.has(p.doc)) return;
  decrypted.add(p.doc);
  Y.visit(p.doc, (_k, n, path) => {
    if (!isScalar(n) || n.tag !== '!vault') return;
    const pair = [...path].reverse().find((x) => Y.isPair(x)) as YPair | undefined;
    const key = pair && isScalar(pair.key) ? String(pair.key.value) : undefined;
    n.value = decryptVaultText(String(n.value), whereOf(p, n), key, key ? `the !vault value of variable "${key}"` : 'a !vault value');
  });
}

/** The plain JS value of a node (aliases and merges resolved). */
export function toValue(p: Parsed, node: YNode | null): unknown {
  if (!node) return null;
  return node.toJS(p.doc);
}

/** Where a node is, for messages. */
export function whereOf(p: Parsed, node: YNode | null | undefined, fallbackLine?: number): Where {
  return { file: p.file, line: p.lineOf(node) ?? fallbackLine };
}

/** "a list", "a string"... for the node as YAML wrote it. */
export function nodeType(p: Parsed, node: YNode | null): string {
  if (isNull(node)) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  const v = toValue(p, node);
  return typeof v === 'string' ? 'a string' : typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : `a ${typeof v}`;
}

/**
 * A whole vars mapping (group_vars file, vars: section, host entry): every key must be a
 * string; values are converted to plain JS.
 */
export function varsOf(p: Parsed, map: YMap, warn: WarnFn, owner: string, fix: string): Array<[string, unknown, number | undefined]> {
  const out: Array<[string, unknown, number | undefined]> = [];
  decryptVaultValues(p);
  for (const e of entries(p, map, warn)) {
    if (typeof e.key !== 'string') {
      fail(
        { file: p.file, line: e.line },
        String(e.key),
        `variable name ${JSON.stringify(e.key) ?? String(e.key)} in ${owner} is ${e.key === null ? 'empty' : `not a string but ${nodeType(p, e.keyNode)}`}`,
        fix,
      );
    }
    out.push([e.key, toValue(p, e.value), e.line]);
  }
  return out;
}
