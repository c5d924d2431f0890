// The commands, in the order of `smbdirect --help`: their options only (each loads its
// implementation when run). Loaded by name, so that a plain command line loads its own alone (#14);
// each by a literal import, which the one-file build of `run` (scripts/bundle-run.mjs) follows.
import type { CommandDef } from './fast-argv.js';

const LOADERS: Record<string, () => Promise<object>> = {
  run: () => import('./run.js'),
  facts: () => import('./facts.js'),
  inventory: () => import('./inventory.js'),
  exec: () => import('./exec.js'),
  lab: () => import('./lab.js'),
};

export const COMMAND_NAMES: readonly string[] = Object.keys(LOADERS);

/** The named commands (default: all), from commands/NAME.ts's NAMECommand. */
export function loadCommands(names: readonly string[] = COMMAND_NAMES): Promise<CommandDef[]> {
  return Promise.all(names.map(async (name) => (await LOADERS[name]!() as Record<string, CommandDef>)[`${name}Command`]!));
}
