// Which SSH client carries a host: ssh2 in this process (the default: no child process, the
// become conversation, passwords), or the system's OpenSSH `ssh` (openssh.ts) where ssh2 cannot
// log in. `smbdirect_ssh_client: openssh | ssh2 | auto` chooses; auto keeps ssh2 unless the
// resolved configuration needs something only OpenSSH has.
import { existsSync, readFileSync } from 'node:fs';
import type { ResolvedSsh } from './ssh-config.js';

export type SshClient = 'ssh2' | 'openssh';
export interface ClientChoice { client: SshClient; why: string }

export const CLIENT_VALUES = ['auto', 'ssh2', 'openssh'] as const;

/** What auto needs to know besides the config: the keys it could use and whether an agent is there. */
export interface KeyView { keyFiles: string[]; defaultKeyFiles: string[]; agent?: string }

/** The first line's key type of a public key file, if it can be read (sk-ssh-ed25519@openssh.com, ...). */
function keyType(pub: string): string | undefined {
  try {
    return readFileSync(pub, 'utf8').trim().split(/\s+/)[0];
  } catch {
    return undefined;
  }
}

/** Why ssh2 cannot log in with this configuration, or undefined when it can. */
export function needsOpenssh(ssh: ResolvedSsh, keys: KeyView, exists: (p: string) => boolean = existsSync): string | undefined {
  if (ssh.controlPath) return `ControlPath ${ssh.controlPath} is set (${where(ssh, 'controlpath')}): an OpenSSH master may hold the login`;
  if (ssh.pkcs11Provider) return `PKCS11Provider is set (${where(ssh, 'pkcs11provider')}): ssh2 has no PKCS#11`;
  if (ssh.certificateFiles?.length) return `CertificateFile ${ssh.certificateFiles[0]} is set: ssh2 cannot log in with OpenSSH certificates`;
  for (const k of keys.keyFiles) {
    // OpenSSH loads KEY-cert.pub beside an identity by itself, and an sk-* key needs its authenticator
    if (exists(`${k}-cert.pub`)) return `${k}-cert.pub exists: ssh2 cannot log in with OpenSSH certificates`;
    const type = keyType(`${k}.pub`);
    if (type?.startsWith('sk-')) return `${k} is a security key (${type}): ssh2 has no FIDO support`;
  }
  const anyKey = keys.agent !== undefined || [...keys.keyFiles, ...keys.defaultKeyFiles].some((k) => exists(k));
  if (ssh.gssapiAuthentication && !anyKey) return `GSSAPIAuthentication yes (${where(ssh, 'gssapiauthentication')}) and no key or agent: ssh2 has no GSSAPI/Kerberos`;
  return undefined;
}

const where = (ssh: ResolvedSsh, k: string) => {
  const s = ssh.sources[k];
  return s ? (s.line ? `${s.file} line ${s.line}` : s.file) : 'ssh config';
};

/** `value`: smbdirect_ssh_client as set (undefined: auto); `from`: where it was set, for the reason. */
export function chooseClient(value: string | undefined, from: string, ssh: ResolvedSsh, keys: KeyView): ClientChoice {
  const v = (value ?? 'auto').trim().toLowerCase();
  if (!(CLIENT_VALUES as readonly string[]).includes(v)) throw new Error(`smbdirect_ssh_client must be one of ${CLIENT_VALUES.join(', ')} (got "${value}", ${from})`);
  if (v === 'ssh2') return { client: 'ssh2', why: `smbdirect_ssh_client ssh2 (${from})` };
  if (v === 'openssh') return { client: 'openssh', why: `smbdirect_ssh_client openssh (${from})` };
  const need = needsOpenssh(ssh, keys);
  return need ? { client: 'openssh', why: `auto: ${need}` } : { client: 'ssh2', why: 'auto: the default; nothing in the configuration needs OpenSSH' };
}
