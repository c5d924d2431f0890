// What is known of SMB Direct in each distribution's kernels (domain notes §1, §8), and the exact
// remedy for one host: on Debian, build-modules for exactly its kernel release; elsewhere, the
// kernel options to enable (build-modules rebuilds Debian kernels only). Pure: facts in, one sentence out.
import type { SystemFacts } from '../facts/index.js';
import { hasSmbdirectModule, type Role } from './kconfig-fragment.js';
import type { RdmaMode } from './model.js';

const RHEL = /^(rhel|rocky|almalinux|centos|ol)$/;
const SUSE = /^(suse|opensuse.*|sles.*|sled)$/;

/** What this distribution's own kernels build ('' when nothing is recorded for it). */
function known(sys: SystemFacts): string {
  const { id, versionId } = sys.distro;
  if (id === 'debian') return `Debian ${versionId || sys.distro.codename || ''} kernels (trixie-backports 7.x included) build neither side of SMB Direct`.replace('  ', ' ');
  if (id === 'ubuntu') return `Ubuntu ${versionId} kernels build the server side only (SMB_SERVER_SMBDIRECT=y, CIFS_SMB_DIRECT not set; siw is in linux-modules-extra-${sys.kernel.release})`;
  if (id === 'fedora') return 'Fedora kernels build no ksmbd and no SMB Direct client';
  if (RHEL.test(id)) return `${sys.distro.pretty || id} kernels build the client side only (CIFS_SMB_DIRECT=y) and no ksmbd`;
  if (SUSE.test(id)) return `${sys.distro.pretty || id} kernels build ksmbd and cifs without SMB Direct on either side`;
  return '';
}

/** The modules build-modules rebuilds for this role and mode on this kernel. */
export function rebuiltModules(sys: SystemFacts, role: Role, mode: RdmaMode): string[] {
  return [...(hasSmbdirectModule(sys.kernel) ? ['smbdirect'] : []), role === 'server' ? 'ksmbd' : 'cifs', ...(mode === 'siw' ? ['siw'] : [])];
}

/**
 * One sentence for a host whose kernel lacks SMB Direct options (`missing`: "CONFIG_X=y"): what its
 * distribution is known to build and what to do on exactly this host.
 */
export function distroKernelText(sys: SystemFacts, role: Role, mode: RdmaMode, missing: string[]): string | undefined {
  if (!missing.length) return undefined;
  const release = sys.kernel.release;
  const what = known(sys);
  const remedy = sys.distro.id === 'debian'
    ? `run with -e smbdirect_kernel_policy=build-modules, which rebuilds ${rebuiltModules(sys, role, mode).map((m) => `${m}.ko`).join(', ')} for exactly kernel ${release}`
    : `boot a kernel built with ${missing.join(', ')} (build-modules supports Debian kernels only)`;
  return `${what ? `${what}: ` : `kernel ${release} lacks SMB Direct options: `}${remedy}`;
}
