// The passwords given on the command line, asked for once for the whole run (not per host), in
// ansible-playbook's order: the SSH password, then the become password (which defaults to the SSH
// password when both are asked), then (in inventoryFrom) the vault passwords.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { CliPasswords } from '../connection/passwords.js';
import { readPassword } from '../prompt.js';
import { registerSecret } from '../secrets.js';
import { UsageError } from './common.js';

export interface PasswordArgs { askPass?: boolean; connectionPasswordFile?: string; askBecomePass?: boolean; becomePasswordFile?: string }

/** Ansible's get_password_from_file: an executable's stdout, else the file; blanks around it removed; empty refused. */
export async function passwordFromFile(file: string, option: string): Promise<string> {
  let text: string;
  try {
    const executable = await access(file, constants.X_OK).then(() => true, () => false);
    text = executable ? (await promisify(execFile)(file, [], { timeout: 60_000 })).stdout : await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${option} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const pw = text.trim();
  if (!pw) throw new UsageError(`${option} ${file}: the password is empty`);
  return pw;
}

async function ask(prompt: string, option: string): Promise<string> {
  try {
    return await readPassword(prompt, `password for ${option}`);
  } catch (e) {
    throw new UsageError(`${option}: ${(e as Error).message}`);
  }
}

export async function cliPasswords(a: PasswordArgs): Promise<CliPasswords> {
  const out: CliPasswords = {};
  // as in Ansible, asking wins over the file
  if (a.askPass) out.conn = await ask('SSH password: ', '--ask-pass');
  else if (a.connectionPasswordFile) out.conn = await passwordFromFile(a.connectionPasswordFile, '--connection-password-file');
  if (a.askBecomePass) {
    const typed = await ask(out.conn !== undefined && a.askPass ? 'BECOME password[defaults to SSH password]: ' : 'BECOME password: ', '--ask-become-pass');
    out.become = typed || (a.askPass ? out.conn : undefined);
  } else if (a.becomePasswordFile) out.become = await passwordFromFile(a.becomePasswordFile, '--become-password-file');
  for (const v of Object.values(out)) if (v) registerSecret(v);
  return out;
}
