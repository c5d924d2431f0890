// The five colours the output uses, as chalk (level 1) writes them: each line of the text opened
// and closed on its own, a nested colour's close re-opening the outer one. zx's chalk is not used
// so that `run` and `exec` do not load zx for it (#14).

const paint = (open: number) => (on: boolean, text: string): string => {
  if (!on || !text) return text;
  const o = `\x1b[${open}m`;
  const body = text.replaceAll('\x1b[39m', `\x1b[39m${o}`).replace(/\r?\n/g, (nl) => `\x1b[39m${nl}${o}`);
  return `${o}${body}\x1b[39m`;
};

export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const magenta = paint(35);
export const cyan = paint(36);

/** Colour only on a TTY, never with NO_COLOR. */
export const colourOn = (stream: { isTTY?: boolean }): boolean => Boolean(stream.isTTY) && !process.env.NO_COLOR;

/** Symbols beyond ASCII (✓ ✗) only on a TTY whose locale is UTF-8 (LC_ALL, else LC_CTYPE, else LANG). */
export const unicodeOn = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean =>
  Boolean(stream.isTTY) && /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '');
