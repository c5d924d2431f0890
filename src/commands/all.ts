// The commands, in the order of `smbdirect --help`: their options only (each loads its
// implementation when run). Loaded by name, so that a plain command line loads its own alone (#14).
import type { CommandDef } from './fast-argv.js';

export const COMMAND_NAMES: readonly string[] = ['run', 'facts', 'inventory', 'exec', 'lab'];

/** The named commands (default: all), from commands/NAME.ts's NAMECommand. */
export function loadCommands(names: readonly string[] = COMMAND_NAMES): Promise<CommandDef[]> {
  return Promise.all(names.map(async (name) => (await import(`./${name}.js`) as Record<string, CommandDef>)[`${name}Command`]!));
}
