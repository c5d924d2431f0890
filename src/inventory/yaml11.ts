// Plain YAML scalars resolved exactly as Ansible's loader resolves them (PyYAML's YAML 1.1
// resolver and SafeConstructor), not as the yaml package's 1.1 schema does (#13). The differences
// that matter: y/Y/n/N are strings, not booleans; "1e3" and "1.0e3" (no sign in the exponent) are
// strings; "09" is a string (not octal, not decimal); "0:30" is a string; sexagesimal "1:20" is 80.
// Whole numbers too large for an exact JavaScript number stay text (as in INI inventories).

interface ScalarTag {
  tag: string;
  default: true;
  test: RegExp;
  resolve(text: string): unknown;
}

// The regular expressions of PyYAML's resolver.py (Resolver.add_implicit_resolver).
const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;

function sexagesimal(value: string, parse: (s: string) => number): number {
  return value.split(':').reduce((acc, part) => acc * 60 + parse(part), 0);
}

/** SafeConstructor.construct_yaml_int, as a JS number (text when it would lose digits). */
function resolveInt(text: string): unknown {
  let v = text.replace(/_/g, '');
  const sign = v[0] === '-' ? -1 : 1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  let n: number;
  if (v === '0') n = 0;
  else if (v.startsWith('0b')) n = v.length > 2 ? parseInt(v.slice(2), 2) : NaN;
  else if (v.startsWith('0x')) n = v.length > 2 ? parseInt(v.slice(2), 16) : NaN;
  else if (v[0] === '0') n = parseInt(v, 8);
  else if (v.includes(':')) n = sexagesimal(v, (p) => parseInt(p, 10));
  else n = parseInt(v, 10);
  // "0b_" is an error in PyYAML; keep such text as it is rather than invent a number
  if (Number.isNaN(n) || !Number.isSafeInteger(n)) return text;
  return n === 0 ? 0 : sign * n;
}

/** SafeConstructor.construct_yaml_float. */
function resolveFloat(text: string): number {
  let v = text.replace(/_/g, '').toLowerCase();
  const sign = v[0] === '-' ? -1 : 1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  if (v === '.inf') return sign * Infinity;
  if (v === '.nan') return NaN;
  if (v.includes(':')) return sign * sexagesimal(v, Number);
  return sign * Number(v);
}

const PYYAML_TAGS = new Set(['tag:yaml.org,2002:bool', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:timestamp']);

/**
 * The yaml package's YAML 1.1 tags with bool, int and float replaced by PyYAML's (for reading only).
 * Timestamps are dropped: Ansible shows dates as the text written (ansible-inventory prints them as
 * strings).
 */
export function pyyamlScalarTags<T extends { tag: string }>(defaults: T[]): Array<T | ScalarTag> {
  const kept = defaults.filter((t) => !PYYAML_TAGS.has(t.tag));
  const make = (tag: string, test: RegExp, resolve: (s: string) => unknown): ScalarTag => ({ tag, default: true, test, resolve });
  return [
    make('tag:yaml.org,2002:bool', BOOL, (s) => ['yes', 'true', 'on'].includes(s.toLowerCase())),
    make('tag:yaml.org,2002:int', INT, resolveInt),
    make('tag:yaml.org,2002:float', FLOAT, resolveFloat),
    ...kept,
  ];
}
