/**
 * Verifies SMB Direct end to end from the facts (read-only: ok or fail, never a change) and shows
 * a table of checks, PASS/FAIL/SKIP with the reason (src/smb/verify-checks.ts): kernel options,
 * the RDMA link (and its boot unit), servers: ksmbd running and listening on TCP 445 (and 5445
 * with iWARP), clients: each smb_mounts entry mounted with rdma, "RDMA transport established" in
 * dmesg since that mount (after its last "CIFS: Attempting to mount" line, before the next mount
 * attempt), a connected SMBDirect transport in /proc/fs/cifs/DebugData, each mount's channels
 * ("2 channels, primary rdma") and, for a mount asking for multichannel (its options), whether
 * every channel is RDMA or the kernel's reason why not (src/smb/channels.ts); and no ksmbd/cifs oops.
 * With smbdirect_kernel_policy=warn, checks the kernel prevents FAIL naming the missing option.
 * Vars: smbdirect_role (play), smbdirect_rdma_mode, smbdirect_rdma_netdev, smbdirect_rdma_link_name,
 * smb_mounts (list of {server, share, path, user, options?}).
 * The checks and the host's kernel and modules also go to the engine as data (checks, hostInfo):
 * the cluster matrix after the run, --json, and `run --report FILE.html` show them.
 * Example: `smbdirect run site.yml --tags verify` -> "2 of 9 checks failed" and the table.
 */
import { systemOf } from '../../src/facts/index.js';
import { checksTable, hostInfoOf, verifyChecks } from '../../src/smb/verify-checks.js';
import { rdmaModeOf, roleOf } from '../../src/smb/support.js';
import type { Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

const task: Task = {
  name: 'smbdirect: verify',
  tags: ['smbdirect', 'verify'],
  inventoryVars: clusterVars,
  plan({ vars, facts, host }) {
    const sys = systemOf(facts);
    const [role, mode] = [roleOf(vars), rdmaModeOf(vars)];
    const checks = verifyChecks(sys, vars, role, mode, host);
    const report = checksTable(`${host}: ${role}, smbdirect_rdma_mode ${mode}, kernel ${sys.kernel.release}`, checks);
    const failed = checks.filter((c) => c.status === 'FAIL').length;
    const skipped = checks.filter((c) => c.status === 'SKIP').length;
    const tail = skipped ? ` (${skipped} skipped)` : '';
    const data = { report, checks, hostInfo: hostInfoOf(sys, role) };
    if (failed) return { status: 'fail', msg: `${failed} of ${checks.length} checks failed${tail}`, ...data };
    return { status: 'ok', msg: `all ${checks.length - skipped} checks passed${tail}`, ...data };
  },
};
export default task;
