// POSIX shell-style word splitting as Python's shlex.split(line, comments=True) does it, which is
// how Ansible splits INI host lines: quotes group words and are removed, a backslash escapes the
// next character, and "#" starts a comment even in the middle of a word.

export class ShlexError extends Error {}

export function shlexSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = '';
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\') {
        if (i + 1 >= line.length) throw new ShlexError('No escaped character');
        const n = line[i + 1]!;
        // inside double quotes only \" and \\ are escapes; other backslashes stay
        if (n === '"' || n === '\\') {
          word += n;
          i++;
        } else word += c;
      } else word += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (c === '#') break;
    inWord = true;
    if (c === '\\') {
      if (i + 1 >= line.length) throw new ShlexError('No escaped character');
      word += line[++i];
    } else if (c === "'" || c === '"') quote = c;
    else word += c;
  }
  if (quote) throw new ShlexError('No closing quotation');
  if (inWord) words.push(word);
  return words;
}
