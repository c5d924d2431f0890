// Before any play: hosts under smbdirect_kernel_policy=build-modules need SMB Direct modules built
// for their exact kernel release. The build runs on the controller, once per release (cached), so a
// build failure stops the run before anything changes on any host.
import { ensureModulesBuilt, modulesCacheRoot } from '../kernel/remedy.js';
import { kernelPolicyOrUndefined } from '../smb/support.js';
import type { HostSpec, Vars } from '../types.js';
import type { ConnectionPool } from './runner.js';

export async function prepareModules(hosts: HostSpec[], extraVars: Vars, pool: ConnectionPool, log: (l: string) => void): Promise<void> {
  // A bad policy value is the validate task's to report (per host, exit 2), not a reason to stop here.
  const wanting = hosts.filter((h) => kernelPolicyOrUndefined({ ...h.vars, ...extraVars }) === 'build-modules');
  if (wanting.length === 0) return;
  const releases = new Set<string>();
  for (const h of wanting) {
    try {
      const out = await (await pool.get(h)).run('uname -r');
      if (out.code === 0 && out.stdout.trim()) releases.add(out.stdout.trim());
    } catch {
      // Unreachable now: the play's fact gathering reports it.
    }
  }
  if (releases.size === 0) return;
  log(`build-modules: SMB Direct modules for ${[...releases].join(', ')} (built once per release, cached)`);
  await ensureModulesBuilt([...releases], log, modulesCacheRoot({ ...wanting[0]!.vars, ...extraVars }));
}

