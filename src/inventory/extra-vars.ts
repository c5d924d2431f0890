// -e / --extra-vars, as ansible-playbook reads them:
//   -e 'version=1.2 mode="a b"'   key=value pairs (values stay strings), several per argument
//   -e '{"ports": [445, 5445]}'   JSON or YAML when the argument starts with { or [
//   -e @vars.yml / -e @vars.json  a file (relative to cwd)
// Later arguments override earlier ones (shallow merge).

import fs from 'node:fs/promises';
import path from 'node:path';
import type { Vars } from '../types.js';
import { fail } from './errors.js';
import { readVarsFile } from './vars-dirs.js';
import { isMap, isNull, nodeType, parseYaml, varsOf } from './yamlfile.js';

const ESCAPE_RE = /\\(?:U[0-9a-fA-F]{8}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|N\{[^}]+\}|[\\'"abfnrtv])/g;
const SIMPLE: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function decodeEscapes(s: string): string {
  return s.replace(ESCAPE_RE, (m) => {
    const c = m[1]!;
    if (c === 'U' || c === 'u' || c === 'x') {
      const cp = parseInt(m.slice(2), 16);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    if (c === 'N') return m; // named characters are not supported; keep the text
    return SIMPLE[c] ?? m;
  });
}

/** Splits on whitespace outside quotes and outside {{ }}, {% %}, {# #} blocks (Ansible's split_args). */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const two = s.slice(i, i + 2);
    if (quote) {
      cur += c;
      if (c === '\\' && i + 1 < s.length) cur += s[++i];
      else if (c === quote) quote = '';
      continue;
    }
    if (two === '{{' || two === '{%' || two === '{#') {
      depth++;
      cur += two;
      i++;
      continue;
    }
    if (depth > 0 && (two === '}}' || two === '%}' || two === '#}')) {
      depth--;
      cur += two;
      i++;
      continue;
    }
    if (depth === 0 && /\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
      continue;
    }
    if (depth === 0 && (c === '"' || c === "'")) quote = c;
    cur += c;
  }
  if (quote || depth > 0) {
    fail({ file: '-e' }, s, quote ? `unbalanced quote (${quote}) in extra vars "${s}"` : `unclosed "{{" / "{%" block in extra vars "${s}"`, 'Close the quote or the block; quote the whole -e argument for the shell, e.g. -e \'msg="a b"\'');
  }
  if (cur) out.push(cur);
  return out;
}

function unquote(s: string): string {
  return s.length > 1 && s[0] === s[s.length - 1] && (s[0] === '"' || s[0] === "'") && s[s.length - 2] !== '\\' ? s.slice(1, -1) : s;
}

/** key=value pairs: values are strings, as in Ansible. */
export function parseKeyValues(arg: string): Vars {
  const vars: Vars = {};
  for (const token of splitArgs(arg)) {
    const x = decodeEscapes(token);
    let pos = -1;
    for (let i = 1; i < x.length; i++) {
      if (x[i] === '=' && x[i - 1] !== '\\') {
        pos = i;
        break;
      }
    }
    if (pos < 0) {
      fail(
        { file: '-e' },
        token,
        `"${token}" is not a key=value pair`,
        'Pass variables as -e name=value (several separated by spaces), as JSON/YAML (-e \'{"name": "value"}\') or as a file (-e @vars.yml)',
      );
    }
    vars[x.slice(0, pos).trim()] = unquote(x.slice(pos + 1).trim());
  }
  return vars;
}

async function fromFile(name: string, cwd: string): Promise<Vars> {
  if (!name) fail({ file: '-e' }, '@', '"-e @" needs a file name', 'Write -e @vars.yml');
  const file = path.resolve(cwd, name);
  try {
    await fs.access(file);
  } catch {
    fail({ file: name }, `@${name}`, 'extra vars file not found', `Check the path (relative paths are taken from ${cwd})`);
  }
  return readVarsFile(file, () => {}, name);
}

function fromYaml(arg: string): Vars {
  const p = parseYaml(arg, '-e', 'extra vars');
  const root = p.doc.contents;
  if (isNull(root) || !isMap(root)) {
    fail({ file: '-e' }, arg, `extra vars must be a mapping (object), found ${nodeType(p, root)}`, 'Pass an object such as -e \'{"name": "value"}\'');
  }
  const vars: Vars = {};
  for (const [k, v] of varsOf(p, root, () => {}, 'extra vars', 'Variable names must be strings')) vars[k] = v;
  return vars;
}

/** Parses every -e argument, in order; later ones override earlier ones. */
export async function parseExtraVars(args: string[], cwd: string = process.cwd()): Promise<Vars> {
  let vars: Vars = {};
  for (const arg of args) {
    if (!arg) continue;
    let data: Vars;
    if (arg.startsWith('@')) data = await fromFile(arg.slice(1), cwd);
    else if (arg.startsWith('/') || arg.startsWith('.')) {
      fail({ file: '-e' }, arg, `"${arg}" looks like a file name`, `Prepend the file name with "@": -e @${arg}`);
    } else if (arg.startsWith('{') || arg.startsWith('[')) data = fromYaml(arg);
    else data = parseKeyValues(arg);
    vars = { ...vars, ...data };
  }
  return vars;
}
