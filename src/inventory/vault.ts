// Ansible Vault, decrypted in-process (node:crypto only): encrypted vars files and inventories,
// and `!vault |` values in YAML (#13 item 4). The format, as ansible-vault writes it:
//
//   $ANSIBLE_VAULT;1.1;AES256            (1.2 adds ";LABEL", the vault id)
//   hex( hex(salt) "\n" hex(hmac) "\n" hex(ciphertext) )   in lines of 80
//
// key material = PBKDF2-HMAC-SHA256(password, salt, 10000 iterations, 80 bytes): 32 bytes AES key,
// 32 bytes HMAC key, 16 bytes counter; HMAC-SHA256 over the ciphertext; AES-256-CTR; PKCS7 padding.
// Every decrypted value (and every password) is registered as a secret: masked wherever we print.

import { execFile } from 'node:child_process';
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { registerSecret } from '../secrets.js';
import { readPassword } from '../prompt.js';
import { fail, type Where } from './errors.js';

export const VAULT_HEADER = '$ANSIBLE_VAULT;';

/** One vault secret: its vault id (label) and where it came from (for messages; never the password). */
export interface VaultSecret {
  id: string;
  password: Buffer;
  source: string;
}

/** The secrets of this process (set from --vault-id / --vault-password-file / --ask-vault-pass). */
let active: VaultSecret[] = [];

export function setVaultSecrets(secrets: VaultSecret[]): void {
  active = secrets;
  for (const s of secrets) registerSecret(s.password.toString('utf8'));
}

export function isVaulted(text: string): boolean {
  return text.startsWith(VAULT_HEADER);
}

const NO_SECRET_FIX = 'Pass the vault password with --vault-password-file FILE, --vault-id LABEL@FILE (or LABEL@prompt) or --ask-vault-pass';

function tried(secrets: VaultSecret[]): string {
  return secrets.map((s) => `${s.id} (${s.source})`).join(', ');
}

/** A wrong password and a tampered blob look the same: the HMAC does not match. */
class WrongSecret extends Error {}

function decryptWith(salt: Buffer, mac: Buffer, ciphertext: Buffer, password: Buffer): Buffer {
  const km = pbkdf2Sync(password, salt, 10000, 80, 'sha256');
  const expected = createHmac('sha256', km.subarray(32, 64)).update(ciphertext).digest();
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw new WrongSecret();
  const d = createDecipheriv('aes-256-ctr', km.subarray(0, 32), km.subarray(64, 80));
  const padded = Buffer.concat([d.update(ciphertext), d.final()]);
  const pad = padded.length ? padded[padded.length - 1]! : 0;
  if (pad < 1 || pad > 16 || pad > padded.length || !padded.subarray(padded.length - pad).every((b) => b === pad)) {
    throw new Error('bad PKCS7 padding after a good HMAC');
  }
  return padded.subarray(0, padded.length - pad);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Decrypts vault text (a whole file or a !vault value). `what` names it in messages ("this vars file",
 * 'variable "pw"'). Tries the secret whose vault id matches a 1.2 header first, then all the others,
 * as Ansible does. The plaintext is registered as a secret.
 */
export function decryptVaultText(text: string, where: Where, key: string | undefined, what: string, secrets: VaultSecret[] = active): string {
  const lines = text.trim().split(/\r?\n/);
  const header = lines[0]!.trim().split(';');
  const badFormat = (why: string): never =>
    fail(where, key, `${what} is not valid Ansible Vault data: ${why}`, 'Re-create it with ansible-vault encrypt / encrypt_string (was it cut, re-indented or edited by hand?)');
  if (header.length < 3 || header[0] !== '$ANSIBLE_VAULT') badFormat('the header is not "$ANSIBLE_VAULT;VERSION;CIPHER"');
  const [, version, cipher, label] = header.map((h) => h.trim());
  if (version !== '1.1' && version !== '1.2') badFormat(`vault format version ${version} is not supported (1.1 and 1.2 are)`);
  if (cipher !== 'AES256') badFormat(`cipher ${cipher} is not supported (AES256 is)`);
  if (secrets.length === 0) {
    fail(where, key, `${what} is encrypted with Ansible Vault${label ? ` (vault id ${label})` : ''}, and no vault password was given`, NO_SECRET_FIX);
  }
  const outer = lines.slice(1).map((l) => l.trim()).join('');
  if (!HEX.test(outer) || !outer) badFormat('the body is not hexadecimal');
  const parts = Buffer.from(outer, 'hex').toString('latin1').split('\n');
  if (parts.length !== 3 || !parts.every((p) => p && HEX.test(p))) badFormat('the body does not hold salt, HMAC and ciphertext');
  const [salt, mac, ciphertext] = parts.map((p) => Buffer.from(p, 'hex')) as [Buffer, Buffer, Buffer];
  const ordered = [...secrets.filter((s) => label && s.id === label), ...secrets.filter((s) => !(label && s.id === label))];
  for (const s of ordered) {
    let plain: Buffer;
    try {
      plain = decryptWith(salt, mac, ciphertext, s.password);
    } catch (e) {
      if (e instanceof WrongSecret) continue;
      return badFormat((e as Error).message);
    }
    const out = plain.toString('utf8');
    registerSecret(out, 'vaultValue');
    return out;
  }
  return fail(
    where,
    key,
    `cannot decrypt ${what}${label ? ` (vault id ${label})` : ''}: no vault password given fits (tried vault ids: ${tried(ordered)}); the HMAC check failed: a wrong password, or the encrypted data was altered`,
    'Pass the password it was encrypted with (--vault-id LABEL@FILE, --vault-password-file FILE or --ask-vault-pass)',
  );
}

/** Registers every string in a decrypted vars file as a secret (numbers and booleans are left alone). */
export function registerStrings(value: unknown): void {
  if (typeof value === 'string') registerSecret(value, 'vaultValue');
  else if (Array.isArray(value)) value.forEach(registerStrings);
  else if (value && typeof value === 'object') Object.values(value).forEach(registerStrings);
}

// --- where the passwords come from -------------------------------------------------------------

export interface VaultOptions {
  vaultPasswordFile?: string[];
  vaultId?: string[];
  askVaultPass?: boolean;
}

function run(file: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'buffer', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const said = stderr.toString('utf8').trim().split('\n').slice(-3).join(' / ');
      reject(new Error(typeof code === 'number' ? `exited with code ${code}${said ? `: ${said}` : ''}` : `${code ?? err.message}`));
    });
  });
}

const passwordError = (source: string, problem: string, fix: string): never => fail({ file: source }, undefined, problem, fix);

/** A password file, or an executable that prints the password (given --vault-id LABEL when named *-client). */
async function fromSource(label: string, source: string): Promise<Buffer> {
  let st;
  try {
    st = await fs.stat(source);
  } catch (e) {
    return passwordError(source, `cannot read the vault password file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'Check the path given to --vault-password-file / --vault-id');
  }
  let pw: Buffer;
  if (st.isFile() && st.mode & 0o111) {
    const client = path.basename(source, path.extname(source)).endsWith('-client');
    try {
      pw = await run(path.resolve(source), client ? ['--vault-id', label] : []);
    } catch (e) {
      return passwordError(source, `the vault password script failed: ${(e as Error).message}`, 'Run the script by hand to see why, or remove its executable bit if it is a plain password file');
    }
    pw = Buffer.from(pw.toString('latin1').replace(/^[\r\n]+|[\r\n]+$/g, ''), 'latin1');
  } else {
    try {
      pw = Buffer.from((await fs.readFile(source)).toString('latin1').trim().replace(/^[\r\n]+|[\r\n]+$/g, ''), 'latin1');
    } catch (e) {
      return passwordError(source, `cannot read the vault password file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'Make it readable by this user');
    }
  }
  if (pw.length === 0) passwordError(source, 'the vault password is empty', 'Put the password in the file (or print it from the script)');
  return pw;
}

async function prompt(label: string, text: string): Promise<Buffer> {
  let pw: string;
  try {
    pw = await readPassword(text, 'vault password');
  } catch (e) {
    return passwordError('--ask-vault-pass', (e as Error).message, 'Type the password at the prompt, or pass it with --vault-password-file FILE');
  }
  if (!pw) passwordError(`vault id ${label}`, 'the vault password typed is empty', 'Type the password it was encrypted with');
  return Buffer.from(pw, 'utf8');
}

/** Builds the vault secrets in Ansible's order: --vault-id, then --vault-password-file, then --ask-vault-pass. */
export async function loadVaultSecrets(opts: VaultOptions): Promise<VaultSecret[]> {
  const slugs: string[] = [...(opts.vaultId ?? [])];
  for (const f of opts.vaultPasswordFile ?? []) slugs.push(`default@${f}`);
  if (opts.askVaultPass) slugs.push('default@prompt_ask_vault_pass');
  const out: VaultSecret[] = [];
  for (const slug of slugs) {
    const at = slug.indexOf('@');
    const [label, source] = at < 0 ? ['default', slug] : [slug.slice(0, at), slug.slice(at + 1)];
    if (!label || !source) passwordError('--vault-id', `"${slug}" is not LABEL@SOURCE`, 'Write --vault-id LABEL@FILE, LABEL@prompt or FILE');
    let password: Buffer;
    if (source === 'prompt') password = await prompt(label, `Vault password (${label}): `);
    else if (source === 'prompt_ask_vault_pass') password = await prompt(label, 'Vault password: ');
    else password = await fromSource(label, source);
    out.push({ id: label, password, source: source.startsWith('prompt') ? 'prompt' : source });
  }
  return out;
}
