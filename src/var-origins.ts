// Where each of a host's variables was set (an inventory file, a play's vars, -e): the inventory
// loader records the files, the runner adds play vars and -e and hands the whole map to tasks in
// one variable, so a message about a variable can say where to fix it (src/smb/vars.ts does).
import type { Vars } from './types.js';

/** Set by the runner: { NAME: where } for every variable of the host. */
export const ORIGINS_VAR = 'smbdirect_var_origins';

/** { NAME: where } for every variable of `vars`. */
export const originsOf = (vars: Vars, where: string): Record<string, string> => Object.fromEntries(Object.keys(vars).map((k) => [k, where]));
