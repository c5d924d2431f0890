// What a JSON consumer reads: secrets are searched in the decoded values, never in the encoded
// text (where `"` and `\` are escaped, so a raw search for such a password cannot match).

/** Every string in a value, keys included, at any depth. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)]);
  return [];
}

/** Parses JSON lines (each non-empty line must be JSON) and returns every string in them. */
export function jsonLineStrings(text: string): string[] {
  return text.split('\n').filter((l) => l.trim()).flatMap((l) => stringsIn(JSON.parse(l)));
}
