// The lab's state file: everything labDown needs to undo labUp, written incrementally
// (before a resource is created, and again when a host's PID is known) so that an
// interrupted `up` can always be torn down. Also naming: every kernel object the lab makes
// (bridge, veths, netns) carries a prefix derived from the state dir, so two labs with
// different state dirs (a user's and the test's) never collide and teardown can find
// leftovers even without a state file.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** `bastions` holds the one jump host of a lab made with --bastion (bastion.ts): in no SMB group. */
export type Group = 'smb_servers' | 'smb_clients' | 'bastions';

export interface HostState {
  name: string;
  group: Group;
  address: string;
  netns: string;
  /** Root-namespace end of the host's veth pair (the other end is eth0 in the netns). */
  veth: string;
  /** stateDir/hosts/NAME: upper, work, root (overlay mount point), sshd.log. */
  dir: string;
  /** PID of the host's `unshare` (its --kill-child takes the whole namespace down). */
  pid?: number;
  /** /proc/PID/stat starttime, so a recycled PID is never mistaken for (or killed as) ours. */
  startTime?: number;
}

export interface LabState {
  version: 1;
  stateDir: string;
  prefix: string;
  bridge: string;
  /** e.g. "10.77.0.1/16" */
  bridgeCidr: string;
  baseImage: string;
  hosts: HostState[];
  inventory?: string;
  /** True once every sshd accepted a connection. */
  complete: boolean;
  /** Made with --bastion: the controller reaches every other host only through the host `bastion`. */
  bastion?: boolean;
}

/** File whose presence marks a directory as a lab state dir (labDown only deletes those). */
export const MARKER = '.smbdirect-lab';
const STATE_FILE = 'state.json';

/** "sdl" + 4 hex digits of the state dir's hash: short enough for 15-char interface names. */
export function labPrefix(stateDir: string): string {
  return `sdl${createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 4)}`;
}

export function bridgeName(prefix: string): string {
  return `${prefix}br`;
}

export function vethName(prefix: string, index: number): string {
  return `${prefix}v${index}`;
}

export function netnsName(prefix: string, host: string): string {
  return `${prefix}-${host}`;
}

export async function readState(stateDir: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(stateDir, STATE_FILE), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

/**
 * Serialises writes of one LabState object: hosts start in parallel and each records its PID
 * as soon as it is known; every write is a full atomic replace (temp file + rename).
 */
export class StateStore {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly state: LabState) {}

  save(): Promise<void> {
    const file = path.join(this.state.stateDir, STATE_FILE);
    const text = `${JSON.stringify(this.state, null, 2)}\n`;
    // A failed write must not poison later ones, hence the catch before chaining.
    const next = this.chain.catch(() => undefined).then(async () => {
      const tmp = `${file}.tmp`;
      await fs.writeFile(tmp, text);
      await fs.rename(tmp, file);
    });
    this.chain = next;
    return next;
  }
}
