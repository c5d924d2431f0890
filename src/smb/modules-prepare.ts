// The controller side of smbdirect/kernel-modules (its Task.controllerPrepare): hosts under
// smbdirect_kernel_policy=build-modules need SMB Direct modules built for their exact kernel
// release, by the compiler of their Debian release. The build runs on the controller before any
// play, once per release (cached), so a build failure stops the run before anything changes on
// any host; the task's plan then only looks the build up (modulesRemedy in support.ts).
import { ensureModulesBuilt, modulesCacheRoot } from '../kernel/remedy.js';
import type { ControllerPrepare, PrepareHost } from '../types.js';
import { kernelPolicyOrUndefined } from './support.js';

/** What a build is for: a kernel release and, when known, its Debian codename (ensureModulesBuilt's targets). */
export interface ModuleTarget { release: string; codename?: string }

/** One round trip per host: the kernel release, then the userland's Debian codename (empty when none). */
export const MODULES_GATHER = "uname -r && { sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null; true; }";

/** What MODULES_GATHER printed on each host, one target per release (the first codename seen for it). */
export function moduleTargets(hosts: PrepareHost[]): ModuleTarget[] {
  const byRelease = new Map<string, ModuleTarget>();
  for (const { output } of hosts) {
    const [release = '', codename = ''] = output.split('\n').map((l) => l.trim().replace(/^(["'])(.*)\1$/, '$2'));
    if (!release) continue;
    const known = byRelease.get(release);
    if (!known) byRelease.set(release, codename ? { release, codename } : { release });
    else if (!known.codename && codename) known.codename = codename;
  }
  return [...byRelease.values()];
}

export const modulesPrepare: ControllerPrepare = {
  key: 'smbdirect: build-modules',
  what: 'building the SMB Direct modules',
  interrupted: 'the build was stopped and its temp dir removed',
  // A bad policy value is the validate task's to report (per host, exit 2), not a reason to stop here.
  wants: (vars) => kernelPolicyOrUndefined(vars) === 'build-modules',
  gather: MODULES_GATHER,
  async run(hosts, log) {
    const targets = moduleTargets(hosts);
    if (targets.length === 0) return;
    log(`build-modules: SMB Direct modules for ${targets.map((t) => t.release).join(', ')} (built once per release, cached)`);
    await ensureModulesBuilt(targets, log, modulesCacheRoot(hosts[0]!.vars));
  },
};
