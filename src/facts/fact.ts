// What every fact shares: a POSIX sh snippet that prints named sections, and a parser that
// turns those sections into typed data. Snippets run inside factsScript()'s preamble, which
// defines `sec NAME` (starts a section), `have CMD` (command exists) and `t CMD...` (runs
// CMD under a timeout when `timeout` exists). Snippets never write anything on the host.

/** The marker that starts every section line: "@@smbdirect@@ NONCE NAME". */
export const MARK = '@@smbdirect@@';

/** The sections of one facts run, by name. Absent sections read as empty. */
export class Sections {
  constructor(private readonly map: ReadonlyMap<string, string>) {}

  has(name: string): boolean {
    return this.map.has(name);
  }

  /** The raw text of a section, exactly as printed (undefined when the section is absent). */
  raw(name: string): string | undefined {
    return this.map.get(name);
  }

  /** The section's text without surrounding whitespace ('' when absent). */
  text(name: string): string {
    return (this.map.get(name) ?? '').trim();
  }

  /** The section's non-blank lines, right-trimmed. */
  lines(name: string): string[] {
    return (this.map.get(name) ?? '').split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  }

  /** Lines of the form "KEY VALUE" (split at the first space or tab), first occurrence wins. */
  keyed(name: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of this.lines(name)) {
      const m = /^(\S+)[ \t]?(.*)$/.exec(line);
      if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!);
    }
    return out;
  }
}

export interface Fact<T> {
  /** Key under Facts.system. */
  readonly name: string;
  /** POSIX sh (dash-compatible); prints its sections with `sec NAME`; changes nothing. */
  readonly script: string;
  /** Never throws: missing or odd output gives empty / null fields. */
  parse(s: Sections): T;
}

/** Parses JSON that a tool printed, or returns undefined (tool missing, old, or failed). */
export function jsonOr(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** An integer from text, or null. */
export function int(text: string | undefined): number | null {
  if (text === undefined || !/^\s*-?\d+\s*$/.test(text)) return null;
  return Number.parseInt(text, 10);
}

/** RFC 5952 text: lower-case hex, the longest run of two or more zero words as "::". */
export function ipv6Text(words: number[]): string {
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = Math.max(i, j);
  }
  const hex = words.map((w) => w.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}
