// The argv yargs would hand a command's handler, for the plain command lines, without loading
// yargs (#14): yargs' ~40 modules cost ~0.1-0.2 s of CPU per start-up, more than loading and
// reading an inventory. The options come from the commands' own builders, run against a recorder
// instead of yargs, so there is one definition of each option; the command line is parsed by
// yargs-parser (yargs' own parser, ~0.015 s to load and run), configured from them as yargs
// configures it. Anything this file does not know for certain to parse as yargs would (an unknown
// or negated option, --opt=value, a boolean followed by true/false, a number-like positional, a
// failed check or choice, --help...) returns undefined, and cli.ts hands the command line to
// yargs, which parses it or prints its error exactly as before. test/startup.test.ts checks the
// results against yargs' for a corpus of command lines.
import type { Argv } from 'yargs';
import yargsParser from 'yargs-parser';

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

  // yargs-parser's options as yargs makes them from .option(): its types, aliases, arrays, defaults
  const opts = { alias: {}, array: [], boolean: [], string: [], number: [], count: [], default: {}, key: {} } as
    Required<Pick<yargsParser.Options, 'alias' | 'boolean' | 'string' | 'number' | 'count' | 'default'>> & { array: string[]; key: Record<string, boolean> };
  const byFlag = new Map<string, string>(); // "--name" / "-x" to the option's name
  const kinds = new Map<string, Kind>();
  for (const [name, spec] of rec.options) {
    // no type: yargs coerces a value that looks like a number; taken here when it must be one of some words
    const words = !spec.array && spec.choices?.every((c) => typeof c === 'string' && !c.startsWith('-') && !NUMBERISH.test(c));
    const kind = spec.type ?? (words ? 'string' : undefined);
    if (!kind || (spec.array && kind !== 'string')) return undefined;
    kinds.set(name, kind);
    const aliases = [spec.alias ?? []].flat();
    for (const n of [name, ...aliases]) byFlag.set(n.length === 1 ? `-${n}` : `--${n}`, name);
    opts.key[name] = true;
    if (aliases.length) opts.alias[name] = aliases;
    if (spec.array) opts.array.push(name);
    if (spec.type) opts[spec.type].push(name);
    if (spec.default !== undefined) opts.default[name] = spec.default;
  }

  // The command lines left to yargs: what yargs-parser would read otherwise than these options
  // say, or what yargs would then refuse or word an error for.
  for (let i = 1; i < args.length; i++) {
    const tok = args[i]!;
    if (tok === '--') {
      if (args.slice(i + 1).some((a) => NUMBERISH.test(a))) return undefined;
      break;
    }
    if (!tok.startsWith('-')) {
      if (NUMBERISH.test(tok)) return undefined;
      continue;
    }
    let name = byFlag.get(tok);
    if (!name && /^-([a-zA-Z])\1+$/.test(tok)) { // -vvv
      name = byFlag.get(tok.slice(0, 2));
      if (name && kinds.get(name) !== 'count') return undefined;
    }
    if (!name) return undefined;
    const kind = kinds.get(name)!;
    const repeated = args.slice(1, i).some((a) => byFlag.get(a) === name);
    if (kind === 'count') continue;
    if (kind === 'boolean') {
      if (repeated || /^(true|false)$/.test(args[i + 1] ?? '')) return undefined;
    } else if (rec.options.get(name)!.array) {
      if (i + 1 >= args.length || args[i + 1]!.startsWith('-')) return undefined;
      while (i + 1 < args.length && !args[i + 1]!.startsWith('-')) i++;
    } else {
      const value = args[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
      if (kind === 'number' && (repeated || !/^(0|[1-9]\d{0,8})$/.test(value))) return undefined;
    }
  }

  // as yargs calls it for a command's line (yargs-factory.js): the positionals as strings
  const parsed = yargsParser.detailed(args as string[], { ...opts, configuration: { 'parse-positional-numbers': false, 'populate--': true } } as yargsParser.Options);
  if (parsed.error) return undefined;
  const positional = parsed.argv._.slice(1).map(String);
  const argv: Record<string, unknown> = parsed.argv;
  argv._ = [args[0]];
  for (const [name, spec] of rec.options) {
    if (spec.choices && argv[name] !== undefined && ![argv[name]].flat().every((v) => spec.choices!.includes(v))) return undefined;
  }
  argv.$0 = 'smbdirect';
  // yargs then takes the command's positionals out of argv._, into their names (command.js)
  const set = (key: string, value: unknown) => {
    argv[key] = value;
    if (key.includes('-')) argv[yargsParser.camelCase(key)] = value;
  };
  for (const slot of slots) {
    const spec = rec.positionals.get(slot.name) ?? {};
    if (spec.alias !== undefined || spec.array !== undefined || (spec.type !== undefined && spec.type !== 'string') || spec.default !== undefined) return undefined;
    if (slot.variadic) {
      if (slot.required && positional.length === 0) return undefined;
      set(slot.name, positional.splice(0));
      continue;
    }
    const value = positional.shift();
    if (value === undefined) {
      if (slot.required || spec.demandOption) return undefined;
      continue;
    }
    if (spec.choices && !spec.choices.includes(value)) return undefined;
    set(slot.name, value);
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
