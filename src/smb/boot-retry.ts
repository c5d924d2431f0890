// Mounts that come back after a reboot even when the boot's one attempt fails (seen on the VM
// lab: `rdma_resolve_addr() completed -110`, the first RDMA contact's 5 s, on a loaded host): a
// drop-in per mount unit of ours, OnFailure= a template service that starts the mount again
// after a pause, bounded by its start limit (templates/smbdirect-remount@.service.hbs).
import { render } from '../render.js';
import { DAEMON_RELOAD } from './handlers.js';
import { cmd } from '../quote.js';
import { systemdEscape } from './systemd.js';
import type { Change } from '../types.js';

export const REMOUNT_UNIT = '/etc/systemd/system/smbdirect-remount@.service';
const DROP_IN = 'smbdirect-retry.conf';

/** systemd-escape --path: "/mnt/team projects" -> "mnt-team\x20projects.mount". */
export function mountUnitName(path: string): string {
  const trimmed = path.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  return `${trimmed === '' ? '-' : systemdEscape(trimmed)}.mount`;
}

export const dropInDir = (path: string): string => `/etc/systemd/system/${mountUnitName(path)}.d`;
export const dropInPath = (path: string): string => `${dropInDir(path)}/${DROP_IN}`;

export function renderRemountUnit(): string {
  // Every 15 s for up to 30 minutes: when a whole cluster reboots at once (a power cut, a
  // maintenance window), a client's boot attempt comes long before its server's ksmbd is up, and
  // a real server's boot (firmware, RAID, RDMA NIC) takes minutes. Past that, the mount waits for
  // the next run rather than retrying for ever.
  return render('smbdirect-remount@.service.hbs', { delay: 15, burst: 120, window: 1800 });
}

export function dropInContent(): string {
  return '# Managed by smbdirect-provision: a failed mount of this unit is tried again (smbdirect-remount@.service).\n[Unit]\nOnFailure=smbdirect-remount@%n.service\n';
}

/** What teardown reads to remove a mount's drop-in and its directory as planned changes. */
export const dropInReads = (path: string): string[] => [dropInPath(path), dropInDir(path), `${dropInDir(path)}/`];

/** The drop-in and its directory (rmdir, kept with a warning when something else is in it). */
export function removeDropInChanges(path: string): Change[] {
  return [{ kind: 'absent', path: dropInPath(path), notify: [DAEMON_RELOAD] }, { kind: 'absent', path: dropInDir(path) }];
}

/** For a mount known only from an fstab line (its drop-in not read): a guarded rm, and rmdir when that leaves it empty. */
export function removeDropIn(path: string): Change {
  const [f, d] = [dropInPath(path), dropInDir(path)];
  return { kind: 'command', desc: `remove ${f}`, cmd: `${cmd('rm', '-f', '--', f)} && { ${cmd('rmdir', '--', d)} 2>/dev/null || true; }`, unless: `! test -e ${cmd(f)}`, notify: [DAEMON_RELOAD] };
}

/** The template unit and one drop-in per mount point, as file changes (root 0644, daemon-reload). */
export function bootRetryFiles(paths: string[]): Change[] {
  const file = (path: string, content: string): Change => ({ kind: 'file', path, content, mode: '0644', owner: 'root', group: 'root', notify: [DAEMON_RELOAD] });
  return [file(REMOUNT_UNIT, renderRemountUnit()), ...paths.map((p) => file(dropInPath(p), dropInContent()))];
}
