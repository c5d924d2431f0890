// What a reporter writes to stdout while fn runs (the reporters write there directly).
export function capture(fn: () => void): string {
  const orig = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try { fn(); } finally { process.stdout.write = orig; }
  return out;
}
