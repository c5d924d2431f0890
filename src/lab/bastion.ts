// `lab up --bastion`: one more host, `bastion`, and every other lab host reachable from the
// controller only through it, as behind a real jump host. The hosts drop their replies to the
// controller (a blackhole route set when they start, hosts.ts); the inventory gives them what an
// Ansible user writes for a bastion, `ansible_ssh_common_args: -F CFG -o ProxyJump=root@ADDR`.
// The -F file is needed because a jump host is resolved on its own, by OpenSSH and by our resolver
// alike (src/connection/jump.ts): it gets none of the destination's -i or -o, so the lab's key and
// known_hosts for the bastion must come from a config file.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tryConnect } from './hosts.js';
import type { HostState } from './state.js';
import { run } from './util.js';
import { quote } from '../quote.js';

export const BASTION = 'bastion';

/** The ssh_config the lab writes into its state dir (only with --bastion). */
export const sshConfigPath = (stateDir: string): string => path.join(stateDir, 'ssh_config');

/** ssh_config(5) quoting: a double-quoted word (the lab's paths hold no `"`: checked). */
function configWord(p: string): string {
  if (p.includes('"')) throw new Error(`lab path ${p} must not contain '"'`);
  return `"${p}"`;
}

/** Every lab host (the bastion as a hop included) with the lab's key, strict host keys, no prompt. */
export async function writeSshConfig(stateDir: string): Promise<string> {
  const file = sshConfigPath(stateDir);
  await fs.writeFile(file, [
    '# smbdirect-provision lab (lab up --bastion): how ssh logs in to the lab hosts, the bastion',
    '# as a jump host included (a jump host gets no -i or -o of the host it serves, only this file).',
    'Host *',
    '  User root',
    `  IdentityFile ${configWord(path.join(stateDir, 'id_ed25519'))}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${configWord(path.join(stateDir, 'known_hosts'))}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n'));
  return file;
}

/** The ssh arguments of every host behind the bastion (shell words, as Ansible splits them). */
export function jumpArgs(stateDir: string, bastionAddress: string): string {
  return `-F ${quote(sshConfigPath(stateDir))} -o ProxyJump=root@${bastionAddress}`;
}

/**
 * Proves the lab is what it claims: `target` (a host behind the bastion) does not answer the
 * controller directly, and answers through the bastion with the real OpenSSH client and the
 * inventory's own arguments. Throws with what went wrong.
 */
export async function checkBastion(stateDir: string, bastion: HostState, target: HostState): Promise<void> {
  // The blackhole drops the SYN-ACK: a direct connection hangs, so 2 s tell it apart from a host that answers.
  if (await tryConnect(target.address, 22, 2000)) {
    throw new Error(`bastion check: ${target.name} (${target.address}) accepts a direct connection from the controller; it should be reachable only through ${BASTION} (${bastion.address})`);
  }
  const args = ['-F', sshConfigPath(stateDir), '-o', `ProxyJump=root@${bastion.address}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
  let answer: string;
  try {
    answer = (await run('ssh', [...args, `root@${target.address}`, 'cat /etc/hostname'])).trim();
  } catch (err) {
    throw new Error(`bastion check: ${target.name} (${target.address}) does not answer through ${BASTION} (${bastion.address}): ${(err as Error).message}`);
  }
  if (answer !== target.name) {
    throw new Error(`bastion check: ssh through ${BASTION} to ${target.address} reached "${answer}", not ${target.name}`);
  }
}
