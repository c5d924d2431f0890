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
