// The one place where values become POSIX shell words. Every remote command built from user
// values goes through here; nothing else concatenates values into shell text.

/** Quotes one value as a single POSIX sh word (single quotes; ' becomes '\''). */
export function quote(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Joins words into a command line, quoting each. */
export function cmd(...words: Array<string | number>): string {
  return words.map(quote).join(' ');
}

/** A here-document whose delimiter cannot occur in the body; the body is passed verbatim. */
export function heredoc(body: string, tag = 'SMBDIRECT_EOF'): { open: string; body: string } {
  let delim = tag;
  for (let i = 0; body.split('\n').includes(delim); i++) delim = `${tag}_${i}`;
  const text = body.endsWith('\n') ? body : `${body}\n`;
  return { open: `<<'${delim}'`, body: `${text}${delim}\n` };
}
