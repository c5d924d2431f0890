// The argv yargs would hand a command's handler, for the plain command lines, without loading
// yargs (#14): yargs' ~40 modules cost ~0.1-0.2 s of CPU per start-up, more than loading and
// reading an inventory. The options come from the commands' own builders, run against a recorder
// instead of yargs, so there is one definition of each option. Anything this file does not know
// for certain to parse as yargs would (an unknown or negated option, --opt=value, a boolean
// followed by true/false, a number-like positional, a failed check or choice, --help...) returns
// undefined, and cli.ts hands the command line to yargs, which parses it or prints its error
// exactly as before. test/startup.test.ts checks the results against yargs' for a corpus of
// command lines.
import type { Argv } from 'yargs';

type Kind = 'string' | 'boolean' | 'number' | 'count';
interface Spec { type?: Kind; alias?: string | string[]; array?: boolean; default?: unknown; choices?: readonly unknown[]; demandOption?: boolean }
export interface CommandDef { command: string; builder: (y: Argv) => unknown; handler: (argv: unknown) => Promise<void> | void }
interface Recorded { options: Map<string, Spec>; positionals: Map<string, Spec>; checks: Array<(argv: Record<string, unknown>) => unknown> }

/** The builder's options, positionals and checks; undefined if it calls anything else on yargs. */
export function recordBuilder(builder: CommandDef['builder']): Recorded | undefined {
  const r: Recorded = { options: new Map(), positionals: new Map(), checks: [] };
  let other = false;
  const y: Record<string, unknown> = new Proxy({}, {
    get: (_t, method) => {
      if (method === 'option') return (name: string, spec: Spec) => (r.options.set(name, spec), y);
      if (method === 'positional') return (name: string, spec: Spec) => (r.positionals.set(name, spec), y);
      if (method === 'check') return (fn: Recorded['checks'][number]) => (r.checks.push(fn), y);
      other = true;
      return () => y;
    },
  });
  builder(y as unknown as Argv);
  return other ? undefined : r;
}

const camel = (s: string) => s.replace(/-+([^-])/g, (_m, c: string) => c.toUpperCase());
/** What yargs-parser could read as a number (then coerces), or as a flag. */
const NUMBERISH = /^[-+]?(\d|\.\d)|^0x/i;

/**
 * The handler's argv for `args` (without the node and script paths), or undefined when the command
 * line is not one of those parsed here: then yargs must parse it.
 */
export function fastArgv(commands: readonly CommandDef[], args: readonly string[]): { command: CommandDef; argv: Record<string, unknown> } | undefined {
  const command = commands.find((c) => c.command.split(' ')[0] === args[0]);
  if (!command) return undefined;
  const rec = recordBuilder(command.builder);
  if (!rec) return undefined;
  // positionals from the command string: <name> required, [name] optional, name.. variadic
  const slots = command.command.split(' ').slice(1).map((w) => ({ name: w.slice(1, -1).replace(/\.\.$/, ''), required: w.startsWith('<'), variadic: w.endsWith('..]') || w.endsWith('..>') }));
  if (slots.some((s) => !s.name || /\W/.test(s.name.replace(/-/g, '')))) return undefined;

  const byFlag = new Map<string, string>(); // "--name" / "-x" to the option's name
  const kinds = new Map<string, Kind>();
  for (const [name, spec] of rec.options) {
    // no type: yargs coerces a value that looks like a number; taken here when it must be one of some words
    const words = !spec.array && spec.choices?.every((c) => typeof c === 'string' && !c.startsWith('-') && !NUMBERISH.test(c));
    const kind = spec.type ?? (words ? 'string' : undefined);
    if (!kind || (spec.array && kind !== 'string')) return undefined;
    kinds.set(name, kind);
    for (const n of [name, ...[spec.alias ?? []].flat()]) byFlag.set(n.length === 1 ? `-${n}` : `--${n}`, name);
  }
  const given = new Map<string, unknown>();
  const positional: string[] = [];
  let dashDash: string[] | undefined;
  for (let i = 1; i < args.length; i++) {
    const tok = args[i]!;
    if (tok === '--') {
      dashDash = args.slice(i + 1); // yargs' argv has "--" only when something follows it
      if (dashDash.some((a) => NUMBERISH.test(a))) return undefined;
      break;
    }
    if (!tok.startsWith('-')) {
      if (NUMBERISH.test(tok)) return undefined;
      positional.push(tok);
      continue;
    }
    let name = byFlag.get(tok);
    let times = 1;
    if (!name && /^-([a-zA-Z])\1+$/.test(tok)) { // -vvv
      name = byFlag.get(tok.slice(0, 2));
      times = tok.length - 1;
      if (name && kinds.get(name) !== 'count') return undefined;
    }
    if (!name) return undefined;
    const spec = rec.options.get(name)!;
    const kind = kinds.get(name)!;
    const before = given.get(name);
    if (kind === 'count') {
      given.set(name, ((before as number | undefined) ?? 0) + times);
    } else if (kind === 'boolean') {
      if (before !== undefined || /^(true|false)$/.test(args[i + 1] ?? '')) return undefined;
      given.set(name, true);
    } else if (spec.array) {
      const values: string[] = [];
      while (i + 1 < args.length && !args[i + 1]!.startsWith('-')) values.push(args[++i]!);
      if (values.length === 0) return undefined;
      given.set(name, [...((before as string[] | undefined) ?? []), ...values]);
    } else {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('-')) return undefined;
      i++;
      if (kind === 'number') {
        if (before !== undefined || !/^(0|[1-9]\d{0,8})$/.test(value)) return undefined;
        given.set(name, Number(value));
      } else {
        given.set(name, before === undefined ? value : [before, value].flat()); // repeated: a list, as in yargs
      }
    }
  }

  const argv: Record<string, unknown> = { _: [args[0]] };
  const set = (keys: string[], value: unknown) => {
    for (const k of keys) {
      argv[k] = value;
      if (k.includes('-')) argv[camel(k)] = value;
    }
  };
  for (const [name, spec] of rec.options) {
    const value = given.has(name) ? given.get(name) : spec.default !== undefined ? spec.default : kinds.get(name) === 'count' ? 0 : undefined;
    if (value === undefined) continue;
    if (spec.choices && ![value].flat().every((v) => spec.choices!.includes(v))) return undefined;
    set([name, ...[spec.alias ?? []].flat()], value);
  }
  if (dashDash?.length) argv['--'] = dashDash;
  argv.$0 = 'smbdirect';
  for (const slot of slots) {
    const spec = rec.positionals.get(slot.name) ?? {};
    if (spec.alias !== undefined || spec.array !== undefined || (spec.type !== undefined && spec.type !== 'string') || spec.default !== undefined) return undefined;
    if (slot.variadic) {
      if (slot.required && positional.length === 0) return undefined;
      set([slot.name], positional.splice(0));
      continue;
    }
    const value = positional.shift();
    if (value === undefined) {
      if (slot.required || spec.demandOption) return undefined;
      continue;
    }
    if (spec.choices && !spec.choices.includes(value)) return undefined;
    set([slot.name], value);
  }
  if (positional.length > 0) return undefined; // strict: yargs reports the unknown argument
  for (const check of rec.checks) {
    try {
      if (check(argv) !== true) return undefined;
    } catch {
      return undefined;
    }
  }
  return { command, argv };
}
