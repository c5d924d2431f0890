// Values that must never be printed: registered when loaded, masked in every line we emit.
const secrets = new Set<string>();

export function registerSecret(value: string): void {
  if (value.length >= 3) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('********');
  return out;
}

/** redact() on every string of a JSON-able value (keys too), before it is encoded: once encoded, a
 * secret with `"` or `\\` (or a control character) is spelled differently and would slip through. */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactValue(v)]));
  return value;
}
