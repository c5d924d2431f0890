// Validation problems: each names the host, the variable path, the bad value (never for secrets),
// what is wrong and what to do. Validators collect them all instead of stopping at the first.

export interface Problem {
  level: 'error' | 'warning';
  host: string;
  /** The variable path, e.g. `ksmbd_shares[2].name`. */
  path: string;
  /** The offending value as the user wrote it; absent for passwords and for missing values. */
  value?: unknown;
  /** What is wrong and why. */
  problem: string;
  /** What to do about it. */
  fix: string;
}

/** One line: `HOST: PATH = VALUE: PROBLEM; FIX`. */
export function formatProblem(p: Problem): string {
  const value = p.value === undefined ? '' : ` = ${showValue(p.value)}`;
  return `${p.host}: ${p.path}${value}: ${p.problem}; ${p.fix}`;
}

/** A value as JSON (so newlines and quotes are visible), cut at 80 characters. */
export function showValue(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Paths ending in a password-like key (`.password`, `["passwd"]`): their values are never shown. */
const SECRET_PATH = /(^|[^a-z0-9_])(pass|passwd|password|pass2|password2|secret)["\]]*$/i;

/** Collects problems for one host; `at(path)` scopes the reports to a variable path. */
export class Problems {
  readonly list: Problem[] = [];
  constructor(readonly host: string) {}

  /** Reports a problem; the value is left out when the path names a password-like key. */
  error(path: string, value: unknown, problem: string, fix: string): void {
    if (SECRET_PATH.test(path)) return this.secret(path, problem, fix);
    this.list.push({ level: 'error', host: this.host, path, value, problem, fix });
  }

  /** An error that must not echo the value (passwords). */
  secret(path: string, problem: string, fix: string): void {
    this.list.push({ level: 'error', host: this.host, path, problem, fix });
  }

  warn(path: string, value: unknown, problem: string, fix: string): void {
    this.list.push({ level: 'warning', host: this.host, path, value, problem, fix });
  }

  get errors(): Problem[] {
    return this.list.filter((p) => p.level === 'error');
  }

  get warnings(): Problem[] {
    return this.list.filter((p) => p.level === 'warning');
  }
}

/** Levenshtein distance (insert, delete, substitute: cost 1 each). */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within a third of the word's length (at least 2 edits), if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(w.length / 3)) + 1;
  for (const c of candidates) {
    const d = levenshtein(w, c.toLowerCase());
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return best;
}

/** `did you mean "x"? ` or '' — for the start of a fix text. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `did you mean "${c}"? `;
}
