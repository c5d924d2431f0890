// Options shared by the commands, and the one place that turns errors into a message and an exit code.
// Every command's definition imports this file, so it stays cheap: the inventory loader (and zx's
// YAML with it) is imported by inventoryFrom, when a command runs (#14).
import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { Inventory, Vars } from '../types.js';
import type { VaultOptions } from '../inventory/vault.js';
import { reportError } from '../errors.js';

export const LAB_INVENTORY = '/var/lib/smbdirect-provision/lab/inventory/hosts.yml';

export class UsageError extends Error {}

export function withInventory<T>(y: Argv<T>) {
  return y
    .option('inventory', { alias: 'i', type: 'string', describe: `inventory file, directory, executable script or host list "a,b,"; repeatable, merged in order (default: the lab's, ${LAB_INVENTORY})` })
    .option('extra-vars', { alias: 'e', type: 'string', array: true, default: [] as string[], describe: 'key=value, JSON, or @file.yml (highest precedence)' })
    .option('limit', { alias: 'l', type: 'string', describe: 'host pattern to further limit the hosts (as in Ansible)' })
    .option('vault-password-file', { type: 'string', array: true, default: [] as string[], describe: 'Ansible Vault password file, or an executable that prints it (repeatable)' })
    .option('vault-id', { type: 'string', array: true, default: [] as string[], describe: 'LABEL@FILE, LABEL@SCRIPT or LABEL@prompt: a vault password with its vault id (repeatable)' })
    .option('ask-vault-pass', { type: 'boolean', default: false, describe: 'ask for the vault password (read from stdin when it is not a terminal)' });
}

export function withConnection<T>(y: Argv<T>) {
  return y
    .option('forks', { alias: 'f', type: 'number', default: 50, describe: 'hosts worked on in parallel' })
    .option('timeout', { alias: 'T', type: 'number', default: 10, describe: 'SSH connect timeout in seconds' })
    .option('accept-new-host-keys', { type: 'boolean', default: false, describe: 'record unknown host keys in known_hosts (a changed key is still refused)' })
    // As in ansible-playbook; a host's ansible_password / ansible_become_password beats these.
    .option('ask-pass', { alias: 'k', type: 'boolean', default: false, describe: 'ask for the SSH login password (once for the run; tried after the keys)' })
    .option('connection-password-file', { alias: 'conn-pass-file', type: 'string', describe: 'SSH login password from a file (or what an executable prints)' })
    .option('ask-become-pass', { alias: 'K', type: 'boolean', default: false, describe: 'ask for the become (sudo) password (once for the run)' })
    .option('become-password-file', { alias: 'become-pass-file', type: 'string', describe: 'become (sudo) password from a file (or what an executable prints)' })
    .option('verbose', { alias: 'v', type: 'count', describe: 'show commands and output (-vv more)' });
}

export async function inventoryFrom(argv: { inventory?: string; extraVars?: string[] } & VaultOptions): Promise<{ inv: Inventory; extraVars: Vars }> {
  // -i given several times arrives as a list (yargs), whatever its declared type
  const given = [argv.inventory ?? []].flat();
  const path = given.length ? given : existsSync(LAB_INVENTORY) ? LAB_INVENTORY : undefined;
  if (!path) throw new UsageError('no inventory: pass -i FILE, or start the built-in lab with "smbdirect lab up"');
  const { loadInventory, parseExtraVars } = await import('../inventory/index.js');
  const { loadVaultSecrets, setVaultSecrets } = await import('../inventory/vault.js');
  setVaultSecrets(await loadVaultSecrets(argv));
  const extraVars = await parseExtraVars(argv.extraVars ?? [], process.cwd());
  const inv = await loadInventory(path, { extraVars });
  // A vault file's strings are all masked, but not the host and group names every line prints
  // (else `storage1 | CHANGED` reads `******** | CHANGED`); passwords stay masked.
  const { forgetSecrets } = await import('../secrets.js');
  forgetSecrets([...inv.hosts.keys(), ...inv.groups.keys()]);
  // login and become passwords in plain inventory text are masked like vault values
  const { registerPasswordVars } = await import('../connection/passwords.js');
  for (const h of inv.hosts.values()) registerPasswordVars(h.vars);
  return { inv, extraVars };
}

/**
 * The hosts --limit selects, checked as Ansible does: each part that matches nothing is named in a
 * warning on stderr, and a limit that leaves no host at all is an error (exit 1), not a run that
 * quietly does nothing (a typo in --limit must not look like success).
 */
export async function limitedHosts(inv: Inventory, limit: string, inventory: string | string[] | undefined): Promise<string[]> {
  const { selectHosts, splitHostPattern } = await import('../inventory/patterns.js');
  for (const name of splitHostPattern(limit).map((p) => p.replace(/^[&!]/, ''))) {
    if (!selectHosts(inv, name).length) process.stderr.write(`[WARNING]: Could not match supplied host pattern, ignoring: ${name}\n`);
  }
  const hosts = selectHosts(inv, limit);
  if (hosts.length) return hosts;
  const names = [...inv.hosts.keys()];
  const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, ... (${names.length})` : names.join(', ') || 'none';
  const sources = [inventory ?? LAB_INVENTORY].flat();
  throw new UsageError(`--limit "${limit}" leaves no host to target in ${sources.join(', ')} (its hosts: ${shown}); list them with: smbdirect inventory -i ${sources[0]} --graph`);
}

/** Runs a command body; an error becomes one line on stderr and exit code 1. */
export function handled(body: (argv: any) => Promise<number | void>) {
  return async (argv: unknown) => {
    try {
      process.exitCode = (await body(argv)) ?? 0;
    } catch (e) {
      reportError(e);
      process.exitCode = 1;
    }
  };
}
