// Errors and warnings raised while loading an inventory. Every error says where (file and line),
// which key, what is wrong and what to do about it, in one message a person can act on.

export interface ErrorDetails {
  /** The file (or `-e` argument) being read. */
  file?: string;
  /** 1-based line number, where known. */
  line?: number;
  /** The key, group, host or section the problem is about. */
  key?: string;
  /** What is wrong, e.g. `"children" of group "web" must be a mapping, found a list`. */
  problem: string;
  /** What to do about it. */
  fix: string;
}

/** Where a problem is: file and optional line. */
export interface Where {
  file: string;
  line?: number;
}

export class InventoryError extends Error {
  file?: string;
  line?: number;
  key?: string;
  problem: string;
  fix: string;

  constructor(details: ErrorDetails) {
    super(formatMessage(details));
    this.name = 'InventoryError';
    this.file = details.file;
    this.line = details.line;
    this.key = details.key;
    this.problem = details.problem;
    this.fix = details.fix;
  }
}

/** `FILE:LINE: PROBLEM (key: KEY). FIX` — the file:line prefix is what editors and terminals link. */
export function formatMessage(d: ErrorDetails): string {
  let where = d.file ?? 'inventory';
  if (d.line !== undefined) where += `:${d.line}`;
  const key = d.key !== undefined ? ` (key: ${d.key})` : '';
  const fix = d.fix.endsWith('.') ? d.fix : `${d.fix}.`;
  return `${where}: ${d.problem}${key}. ${fix}`;
}

export function fail(where: Where | undefined, key: string | undefined, problem: string, fix: string): never {
  throw new InventoryError({ file: where?.file, line: where?.line, key, problem, fix });
}

export type WarnFn = (message: string) => void;

/** Ansible prints warnings to stderr with this prefix; so do we unless the caller takes them. */
export function defaultWarn(message: string): void {
  process.stderr.write(`[WARNING]: ${message}\n`);
}

/** A short human name for the type of a parsed value, for messages ("a list", "a string"). */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}
