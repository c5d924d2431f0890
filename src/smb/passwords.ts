// Passwords of ksmbd users, read on the controller from a file or an environment variable.
// Every loaded value is registered as a secret (masked in all output); no error ever contains it.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { decryptVaultText, isVaulted } from '../inventory/vault.js';
import { registerSecret } from '../secrets.js';
import type { KsmbdUser } from './model.js';
import { utf8Bytes } from './text.js';

/** Reads a controller file: its bytes and, when known, its permission bits. */
export type ReadFile = (path: string) => { data: Buffer | string; mode?: number };

export class PasswordError extends Error {
  override name = 'PasswordError';
}

/**
 * Why a password cannot be used, if it cannot. Limits: ksmbd-tools takes [0, 129) bytes of UTF-8
 * (ksmbdpwd.db(5), MAX_NT_PWD_LEN); mount.cifs reads a credentials file line by line and keeps
 * everything after the first "=" up to the newline, with no quoting (mount.cifs.c,
 * open_cred_file/parse_cred_line), so a newline or NUL cannot be represented. Quotes, "$()",
 * backticks, "=", ",", blanks and non-ASCII are all fine and pass through unchanged.
 */
export function passwordProblem(pw: string): string | undefined {
  if (pw === '') return 'the password is empty';
  const bytes = utf8Bytes(pw);
  if (bytes > 128) return `the password is ${bytes} bytes; ksmbd accepts at most 128 bytes (UTF-8)`;
  if (/[\r\n]/.test(pw)) return 'the password contains a line break, which a cifs credentials file cannot hold (one line per key, no quoting)';
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(pw)) return 'the password contains a control character (ksmbd.adduser refuses them too)';
  return undefined;
}

const readLocal: ReadFile = (path) => ({ data: readFileSync(path), mode: statSync(path).mode });

/** Where password_file points: "~/x" is under the home directory, relative paths under baseDir. */
export function passwordPath(file: string, baseDir = process.cwd()): string {
  if (file === '~' || file.startsWith('~/')) return resolve(homedir(), file.slice(2));
  return isAbsolute(file) ? file : resolve(baseDir, file);
}

/**
 * Loads one user's password. Strips ONE trailing newline ("\n" or "\r\n") from a file, nothing
 * else. Warns when the file is readable by group or others. Throws PasswordError naming the user
 * and the file or variable, never the password.
 */
export function loadPassword(
  user: KsmbdUser,
  env: NodeJS.ProcessEnv = process.env,
  readFile: ReadFile = readLocal,
  baseDir = process.cwd(),
): { password: string; warnings: string[] } {
  const warnings: string[] = [];
  let password: string;
  let source: string;
  if (user.passwordEnv !== undefined) {
    source = `environment variable ${user.passwordEnv}`;
    const v = env[user.passwordEnv];
    if (v === undefined) throw fail(user, `${source} is not set on the controller`, `export ${user.passwordEnv}=... before running, or use password_file`);
    password = v;
  } else if (user.passwordFile !== undefined) {
    const path = passwordPath(user.passwordFile, baseDir);
    source = `password_file ${path}`;
    password = readPasswordFile(user, path, readFile, warnings);
  } else {
    throw fail(user, 'no password source', 'set password_file or password_env');
  }
  registerSecret(password);
  const why = passwordProblem(password);
  if (why) throw fail(user, `${source}: ${why}`, 'change the password');
  return { password, warnings };
}

function readPasswordFile(user: KsmbdUser, path: string, readFile: ReadFile, warnings: string[]): string {
  let got: ReturnType<ReadFile>;
  try {
    got = readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail(user, `password_file ${path} does not exist on the controller`, 'create it with the password on one line and chmod 600 it');
    throw fail(user, `cannot read password_file ${path} (${code ?? (e as Error).message})`, 'check its permissions on the controller');
  }
  if (got.mode !== undefined && (got.mode & 0o044) !== 0) {
    const mode = (got.mode & 0o777).toString(8).padStart(4, '0');
    warnings.push(`ksmbd user ${user.name}: password_file ${path} is readable by group or others (mode ${mode}); run chmod 600 ${path}`);
  }
  let text: string;
  try {
    text = typeof got.data === 'string' ? got.data : new TextDecoder('utf-8', { fatal: true }).decode(got.data);
  } catch {
    throw fail(user, `password_file ${path} is not valid UTF-8`, 'save it as UTF-8 (ksmbd hashes the UTF-16LE form of a UTF-8 password)');
  }
  // A file encrypted with ansible-vault encrypt is decrypted with the run's vault passwords, as
  // Ansible's copy and template do with a vaulted src.
  if (isVaulted(text)) {
    try {
      text = decryptVaultText(text, { file: path }, undefined, 'this password_file');
    } catch (e) {
      throw fail(user, `password_file ${path}: ${(e as Error).message}`, 'pass the vault password it was encrypted with (--vault-password-file, --vault-id or --ask-vault-pass)');
    }
  }
  return text.replace(/\r?\n$/, '');
}

function fail(user: KsmbdUser, problem: string, fix: string): PasswordError {
  return new PasswordError(`ksmbd user ${user.name}: ${problem}; ${fix}`);
}
