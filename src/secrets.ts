// Values that must never be printed: registered when loaded, masked in every line we emit.
const secrets = new Set<string>();
/** Registered as a password (not only as a string a vault held): never forgotten. */
const passwords = new Set<string>();

/** `vaultValue`: a string a vault held, masked like a password, but see forgetSecrets. */
export function registerSecret(value: string, kind: 'password' | 'vaultValue' = 'password'): void {
  if (value.length < 3) return;
  secrets.add(value);
  if (kind === 'password') passwords.add(value);
}

/**
 * Stops masking these strings: names every output line prints anyway (inventory host and group
 * names), which a vault file may also hold as values (a mount's `server: storage1`). A string
 * registered as a password stays masked.
 */
export function forgetSecrets(values: Iterable<string>): void {
  for (const v of values) if (!passwords.has(v)) secrets.delete(v);
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
