// Line-in-file, as pure functions over content: tasks use these to compute the file they want.

/** Ensures `line` is present: replaces the last line matching `match` (or the same line), else appends. */
export function ensureLine(content: string, line: string, match?: RegExp): string {
  const lines = content === '' ? [] : content.replace(/\n$/, '').split('\n');
  let idx = -1;
  lines.forEach((l, i) => {
    if (l === line || (match && match.test(l))) idx = i;
  });
  if (idx === -1) lines.push(line);
  else lines[idx] = line;
  return lines.join('\n') + '\n';
}

/** Removes every line matching `match`. */
export function removeLines(content: string, match: RegExp): string {
  if (content === '') return content;
  const kept = content.replace(/\n$/, '').split('\n').filter((l) => !match.test(l));
  return kept.length ? kept.join('\n') + '\n' : '';
}
