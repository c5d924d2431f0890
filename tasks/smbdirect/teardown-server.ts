/**
 * Undoes the server side: stops ksmbd (systemctl where systemd runs, `ksmbd.control --shutdown`
 * for a ksmbd started by hand without systemd) and unloads our rebuilt ksmbd module and disables ksmbd.service if smbdirect/ksmbd-service
 * enabled it (its mark in /var/lib/smbdirect-provision; offline through the engine's
 * `systemctl --root=/` fallback); removes /etc/ksmbd/ksmbd.conf and ksmbdpwd.db, each
 * kept first under /var/backups/smbdirect-provision; deletes the soft RDMA link(s), disables and
 * removes its boot unit(s) smbdirect-rdma-*.service and /etc/modules-load.d/smbdirect-rdma.conf.
 * The share directories share-dirs created (recorded in /var/lib/smbdirect-provision) are removed,
 * deepest first, when empty (rmdir, never a recursive delete); the others, data, system users and packages stay. A second run changes nothing.
 * Vars: smbdirect_rdma_mode, smbdirect_rdma_link_name.
 * Example: `smbdirect run teardown.yml --limit srv1`.
 */
import { systemOf, type SystemFacts } from '../../src/facts/index.js';
import { cmd } from '../../src/quote.js';
import { DAEMON_RELOAD } from '../../src/smb/handlers.js';
import { KSMBD_CONF } from '../../src/smb/ksmbd-conf.js';
import { linkNamesOf, rdmaModeOf } from '../../src/smb/support.js';
import type { Change, Facts, Task, Vars } from '../../src/types.js';
import { rawSharePaths, removalReads, removeRecorded, removeStateDir, SHARE_DIRS_RECORD, STATE_DIR } from '../../src/smb/created-dirs.js';
import { ENABLED_MARK, KSMBD_UNIT } from './ksmbd-service.js';
import { USERS_DB } from './ksmbd-users.js';
import { MODULES_LOAD, unitPath } from './rdma-link.js';
import { unload } from './kernel-modules.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';
export { handlers } from './rdma-link.js';

const UNIT_DIR = '/etc/systemd/system';

/** The configured soft links (one per entry of smbdirect_rdma_netdev); none for hardware. */
function softLinkNames(vars: Vars): string[] {
  const mode = rdmaModeOf(vars);
  return mode === 'hardware' ? [] : linkNamesOf(vars, mode);
}

/** Paths rdmaTeardown() manages (for reads(), which must not throw: a bad mode or link name list fails the plan, saying why). */
export function rdmaTeardownReads(vars: Vars): string[] {
  try {
    return [MODULES_LOAD, ...softLinkNames(vars).map(unitPath)];
  } catch {
    return [MODULES_LOAD];
  }
}

/** Why a soft link stays: what still holds it, and when it goes. */
const keptText = (link: string, held: string) =>
  `RDMA link ${link} kept: ${held} still holds it (rdma resource show cm_id), and deleting it now would block ` +
  `until that is released (a cifs connection to a server that is gone never is); its boot unit is removed, so it goes at the next reboot (or: rdma link delete ${link})`;

/** Deleting one soft link, unless a cifs connection holds it and its unit is gone already (then a warning). */
function deleteLink(link: string, sys: SystemFacts, files: Facts['files'], warnings: string[]): Change[] {
  if (!sys.rdma.devices.some((d) => d.name === link)) return [];
  const holders = sys.rdma.cmIds.filter((c) => c.dev === link && c.comm === 'cifs');
  if (holders.length && !files[unitPath(link)]?.exists) {
    const states = [...new Set(holders.map((c) => c.state ?? '?'))].join(', ');
    warnings.push(keptText(link, `${holders.length} cifs RDMA connection${holders.length > 1 ? 's' : ''} (${states})`));
    return [];
  }
  const holds = `rdma resource show cm_id 2>/dev/null | grep -q ${cmd(`^link ${link}/.* comm \\[cifs\\] `)}`;
  return [{
    kind: 'command',
    desc: `delete RDMA link ${link}`,
    // A cifs connection of a mount just unmounted is released by cifsd a moment later: wait
    // up to 10 s for it before calling the link held.
    cmd: `i=0; while ${holds} && [ $i -lt 10 ]; do sleep 1; i=$((i+1)); done; if ${holds}; then sd_warn ${cmd(keptText(link, 'a cifs RDMA connection'))}; else ${cmd('rdma', 'link', 'delete', link)}; fi`,
    unless: `! ${cmd('rdma', 'dev', 'show', link)}`,
  }];
}

/**
 * Deletes the soft RDMA links (each of a list), disables and removes their boot unit(s) and the modules-load file
 * (servers and clients). A link that a cifs connection still holds is kept, with a warning:
 * `rdma link delete` waits in the kernel for that connection, and one stuck on a dead server (a
 * task in D state) never lets go, so teardown would hang for good. Only cifs connections count:
 * ksmbd's listeners and connections go with the device (every teardown deleted links under them).
 * Held is decided on the host, after the unmounts of the same run; a link found held and
 * unit-less (a teardown already ran) is left without a change, so a second teardown reports none.
 */
export function rdmaTeardown(vars: Vars, sys: SystemFacts, files: Facts['files']): { changes: Change[]; warnings: string[] } {
  const changes: Change[] = [];
  const warnings: string[] = [];
  const systemd = sys.services.systemdRunning;
  // The configured soft links, then every unit of ours (also for links named differently before).
  const links = softLinkNames(vars);
  for (const link of links) changes.push(...deleteLink(link, sys, files, warnings));
  const ours = sys.services.units.filter((u) => /^smbdirect-rdma-.+\.service$/.test(u.name));
  for (const u of ours) {
    if (systemd && u.active === 'active') changes.push({ kind: 'service', name: u.name, state: 'stopped' });
    if (u.enabled === 'enabled') changes.push({ kind: 'service', name: u.name, enabled: false });
    const path = `${UNIT_DIR}/${u.name}`;
    if (links.some((l) => path === unitPath(l)) || u.enabled === null || u.enabled === 'not-found') continue;
    changes.push({ kind: 'command', desc: `remove ${path}`, cmd: cmd('rm', '-f', '--', path), unless: `! test -e ${cmd(path)}`, notify: [DAEMON_RELOAD] });
  }
  for (const link of links) changes.push({ kind: 'absent', path: unitPath(link), notify: [DAEMON_RELOAD] });
  changes.push({ kind: 'absent', path: MODULES_LOAD });
  return { changes, warnings };
}

/** The paths `changes` remove. */
export const removedPaths = (changes: Change[]): string[] => changes.flatMap((c) => (c.kind === 'absent' ? [c.path] : []));

const task: Task = {
  name: 'smbdirect: teardown server',
  tags: ['smbdirect', 'teardown'],
  inventoryVars: clusterVars,
  reads: (vars) => [KSMBD_CONF, USERS_DB, ENABLED_MARK, ...rdmaTeardownReads(vars), ...removalReads(SHARE_DIRS_RECORD, rawSharePaths(vars)), STATE_DIR, `${STATE_DIR}/`],
  plan({ vars, facts }) {
    const sys = systemOf(facts);
    const systemd = sys.services.systemdRunning;
    const changes: Change[] = [];
    const ksmbd = sys.services.units.find((u) => u.name === KSMBD_UNIT);
    if (systemd && ksmbd?.active === 'active') changes.push({ kind: 'service', name: KSMBD_UNIT, state: 'stopped' });
    else if (sys.services.ksmbdRunning) changes.push({ kind: 'command', desc: 'stop ksmbd (ksmbd.control --shutdown)', cmd: 'ksmbd.control --shutdown' });
    // A ksmbd before 6.18 keeps the RDMA port of the first iWARP device it saw (5445) until its
    // module is reloaded: started again over RoCE it still listened on 5445 and refused a 7.x
    // client, which tries 445 only (the matrix: a 6.12 server, siw, teardown, then rxe). Our
    // rebuilt module is unloaded (the next start loads it fresh); a stock one is left alone.
    const mod = sys.modules.modules.ksmbd;
    const unloadKsmbd = mod?.loaded === true && mod.path?.startsWith(`/lib/modules/${sys.kernel.release}/updates/`) === true;
    if (unloadKsmbd) {
      changes.push({ kind: 'command', desc: 'unload the rebuilt ksmbd module (the next start loads it fresh)', cmd: unload('ksmbd', 'reload it before serving over another RDMA device type', 'warn'), unless: `! grep -q '^ksmbd ' /proc/modules` });
    }
    // Disabled only if we enabled it (a package may enable it on install: then it stays so).
    if (facts.files[ENABLED_MARK]?.exists) {
      if (ksmbd?.enabled === 'enabled') changes.push({ kind: 'service', name: KSMBD_UNIT, enabled: false });
      changes.push({ kind: 'absent', path: ENABLED_MARK });
    }
    changes.push({ kind: 'absent', path: KSMBD_CONF, backup: true }, { kind: 'absent', path: USERS_DB, backup: true });
    const rdmaDown = rdmaTeardown(vars, sys, facts.files);
    changes.push(...rdmaDown.changes);
    // The share directories we created, when empty (rmdir: never data); the record keeps the others.
    const dirs = removeRecorded(SHARE_DIRS_RECORD, rawSharePaths(vars), facts);
    changes.push(...dirs.changes);
    changes.push(...removeStateDir(facts, removedPaths(changes)));
    const msg = `ksmbd stopped; ksmbd.conf and ksmbdpwd.db removed (copies in /var/backups/smbdirect-provision); ${rdmaDown.warnings.length ? "the soft RDMA link's boot unit removed, the link kept" : 'soft RDMA link and its boot unit removed'}; empty share directories we created removed`;
    return { status: 'change', msg: [msg, ...(unloadKsmbd ? ['the rebuilt ksmbd module unloaded'] : []), ...dirs.kept].join('; '), changes, warnings: [...dirs.kept, ...rdmaDown.warnings] };
  },
};
export default task;
