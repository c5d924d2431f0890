/**
 * Ensures each smb_mounts entry is in /etc/fstab (`//ADDR/SHARE MNT cifs vers=..,rdma,
 * credentials=FILE,_netdev,nofail`; every other line kept byte for byte, the file's mode and owner
 * kept) and mounted now, like ansible.posix.mount state=mounted (and, per mount unit, a drop-in that
 * retries a failed boot attempt: src/smb/boot-retry.ts): the fstab write and the mounts
 * are one task, so when a mount fails the engine restores the old fstab (a bad line must not stop
 * the host booting). A mount that fails prints the new kernel lines about CIFS/RDMA and a one-line
 * diagnosis (no SMB Direct in the client kernel, RDMA connect failure, logon failure, unknown
 * share or ksmbd-tools too old). Lines of ours (credentials= in our directory) whose mount point
 * left smb_mounts are removed. Mounting needs the kernel (kernelGate, client role): with
 * smbdirect_kernel_policy=warn the fstab is staged and the mount skipped with the reason. A mount
 * whose server does not answer fails the task, naming the server and what to do; nothing is touched.
 * Vars: smb_mounts, smbdirect_cluster (server addresses), smbdirect_kernel_policy.
 * Example: { server: srv1, share: data, path: /mnt/data, user: alice } -> mount /mnt/data.
 */
import { systemOf } from '../../src/facts/index.js';
import { cmd } from '../../src/quote.js';
import { serverAddress, smbModel, smbModelOrUndefined } from '../../src/smb/cluster.js';
import { bootRetryFiles, dropInPath, REMOUNT_UNIT, removeDropIn } from '../../src/smb/boot-retry.js';
import { CREDENTIALS_DIR, credentialsPath } from '../../src/smb/credentials.js';
import { fstabEntryMatches, fstabEscape, fstabLine, mergeFstab, parseMountLine } from '../../src/smb/fstab.js';
import { DAEMON_RELOAD } from '../../src/smb/handlers.js';
import { ANY_PORTS_TEXT, clientPortsText, modeTypes } from '../../src/smb/rdma-ports.js';
import { kernelGate, rdmaModeOf } from '../../src/smb/support.js';
import { unansweredText } from '../../src/smb/unanswered.js';
import type { Change, Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';
export { handlers } from './rdma-link.js';

export const FSTAB = '/etc/fstab';
/**
 * Seconds a mount may take. cifs gives an SMBD negotiate 120 s before it fails the mount, so a
 * mount still running well after that is stuck in the kernel; the task fails rather than wait for good.
 */
export const MOUNT_BOUND_S = 180;

/** Mount points of fstab lines that are ours: their credentials file is in our directory. */
export function ourFstabTargets(fstab: string): string[] {
  return fstab.split('\n').flatMap((l) => {
    const e = parseMountLine(l);
    return e && e.options.some((o) => o.startsWith(`credentials=${CREDENTIALS_DIR}/`)) ? [e.target] : [];
  });
}

/**
 * `mount MNT` (from its fstab line); on failure: mount's output, the new CIFS/RDMA kernel lines and a
 * diagnosis, to stderr. `ports`: where this client connects (clientPortsText, src/smb/rdma-ports.ts).
 */
export function mountCommand(mnt: string, remount = false, ports = ANY_PORTS_TEXT, bound = MOUNT_BOUND_S): string {
  const m = cmd(mnt);
  const stuck = `the mount did not end within ${bound} s and is still in the kernel (a mount.cifs that no signal ends, seen when an SMBD negotiate timed out: docs/kernels.md); if it ever completes, its fstab line is not there (this task restored the file). Check the server and the RDMA links of both sides; the stuck mount.cifs may only end with a reboot of this host`;
  // Failure lines: rdma_connect/rdma_resolve_* before 7.x, smbdirect_* from 7.x (smbdirect.ko); 111 is ECONNREFUSED.
  const refused = `the server refused the RDMA connection: is ksmbd running with SMB Direct, was it started after its RDMA link existed, ${ports}`;
  return [
    'n=$(dmesg 2>/dev/null | wc -l)',
    ...(remount ? [`umount ${m} || exit $?`] : []),
    // mount in a process group of its own (timeout's) with its output in a file, not a pipe: a
    // mount.cifs stuck in the kernel would keep a pipe open, and this script waiting, for good.
    'o=$(mktemp) || exit 1',
    `mnt() { if command -v timeout >/dev/null 2>&1; then timeout -s KILL ${bound} mount ${m} > "$o" 2>&1 < /dev/null; else mount ${m} > "$o" 2>&1 < /dev/null; fi; }`,
    `mnt; rc=$?; out=$(cat "$o"); [ $rc -eq 0 ] && { rm -f "$o"; exit 0; }`,
    `log=$(dmesg 2>/dev/null | tail -n +$((n + 1)) | grep -E 'CIFS|smbd|smbdirect|rdma' | tail -n 15)`,
    // The first RDMA contact with a server resolves its address (ARP/ND) within cifs' fixed 5 s;
    // on a slow or just-raised link that can time out once, and the answer is cached by then.
    `case "$log" in *'rdma_resolve_addr() completed -110'*|*'rdma_resolve_route() completed -110'*)`,
    `  sleep 1; mnt; rc=$?; out=$(cat "$o"); [ $rc -eq 0 ] && { rm -f "$o"; exit 0; };; esac`,
    'rm -f "$o"',
    `printf '%s\\n' "$out" "$log" >&2`,
    // 137: timeout's SIGKILL (128 + 9).
    `[ $rc -eq 137 ] && { echo ${cmd(`diagnosis: ${stuck}`)} >&2; exit 32; }`,
    'case "$out $log" in',
    `  *'CONFIG_CIFS_SMB_DIRECT is not enabled'*) d='this client kernel has no SMB Direct (CONFIG_CIFS_SMB_DIRECT is not set): boot a kernel with it or rebuild cifs.ko (see the preflight task)';;`,
    `  *BAD_NETWORK_NAME*) d='the server does not know the share: check ksmbd_shares, and that its ksmbd-tools is >= 3.5.2 (older ones fail every tree connect on kernels >= 6.1)';;`,
    `  *STATUS_LOGON_FAILURE*|*'Permission denied'*|*'error(13)'*) d='logon refused: the credentials file and the server ksmbdpwd.db disagree (same password source on both?), or the user lacks a system account or is not in valid_users';;`,
    `  *smbdirect_*ECONNREFUSED*|*smbdirect_*-111*|*'rdma_connect'*-111*) d=${cmd(refused)};;`,
    `  *smbd_*|*smbdirect*|*rdma_*|*RDMA*) d=${cmd(`the RDMA connection failed: is the server kernel built with SMB_SERVER_SMBDIRECT, was ksmbd started after its RDMA link existed, are both RDMA links ACTIVE (rdma link show), ${ports}`)};;`,
    `  *) d='see the mount and kernel messages above';;`,
    'esac',
    `echo "diagnosis: $d" >&2`,
    'exit 32',
  ].join('\n');
}

const task: Task = {
  name: 'smbdirect: cifs fstab and mount',
  tags: ['smbdirect', 'cifs', 'mount'],
  inventoryVars: clusterVars,
  reads: (vars, host) => [FSTAB, REMOUNT_UNIT, ...(smbModelOrUndefined(vars, host)?.mounts.map((m) => dropInPath(m.path)) ?? [])],
  plan(ctx) {
    const { vars, host, facts } = ctx;
    const model = smbModel(vars, host);
    const cur = facts.files[FSTAB];
    const current = cur?.exists ? (cur.content ?? '') : '';
    const wanted = model.mounts.map((m) => ({ m, line: fstabLine(m, serverAddress(vars, m.server), credentialsPath(m.server, m.user)) }));
    const stale = ourFstabTargets(current).filter((t) => !wanted.some((w) => w.m.path === t));
    if (!wanted.length && !stale.length) return { status: 'ok', msg: 'no smb_mounts' };
    const content = mergeFstab(current, wanted.map((w) => w.line), stale);
    // With the fstab lines, what retries them after a failed boot attempt (src/smb/boot-retry.ts).
    const changes: Change[] = [{ kind: 'file', path: FSTAB, content, notify: [DAEMON_RELOAD] }, ...bootRetryFiles(wanted.map((w) => w.m.path)), ...stale.map(removeDropIn)];
    const warnings = wanted.filter((w) => w.m.seal).map((w) => `${w.m.path}: seal disables RDMA read/write offload, most of SMB Direct's gain is lost`);
    const sys = systemOf(facts);
    // A mount whose server does not answer: any umount/mount/remount here would block (#16).
    const dead = model.mounts.flatMap((m) => sys.mounts.filter((x) => x.target === m.path && x.answer).map((x) => unansweredText(sys, x, { server: m.server, host })));
    if (dead.length) return { status: 'fail', msg: dead.join('\n'), warnings };
    const live = (target: string) => sys.mounts.filter((x) => x.target === target).map((x) => [x.source, x.target, x.fstype, x.options.join(',')].map(fstabEscape).join(' '));
    warnings.push(...stale.filter((t) => live(t).length).map((t) => `${t} left smb_mounts but is still mounted: its fstab line is removed, unmount it yourself (or run the teardown playbook first)`));
    const todo = wanted.filter((w) => !live(w.m.path).some((l) => fstabEntryMatches(l, w.line)));
    if (todo.length) {
      const gate = kernelGate(ctx, 'client');
      if (!gate.proceed && gate.plan.status === 'fail') return gate.plan;
      if (!gate.proceed) {
        if (content === current) return { ...gate.plan, warnings };
        warnings.push(`not mounted now: ${gate.plan.msg}`);
      } else {
        for (const { m } of todo) {
          const remount = live(m.path).length > 0;
          const ports = clientPortsText(sys.kernel, modeTypes(rdmaModeOf(vars), sys.rdma.devices));
          changes.push({ kind: 'command', desc: `${remount ? 'remount' : 'mount'} ${m.path}`, cmd: mountCommand(m.path, remount, ports) });
        }
      }
    }
    const msg = model.mounts.map((m) => `${m.path}${todo.some((w) => w.m === m) ? '' : ' (mounted)'}`).join(', ') || `removed ${stale.join(', ')}`;
    return { status: 'change', msg, changes, warnings };
  },
};
export default task;
