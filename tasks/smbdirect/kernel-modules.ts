/**
 * Under smbdirect_kernel_policy=build-modules, installs the modules the running kernel lacks for
 * SMB Direct in this host's role, rebuilt on the controller for its exact kernel release
 * (src/kernel/build-modules.ts; the build runs before any play, as this task's controllerPrepare:
 * src/smb/modules-prepare.ts): ksmbd (server), cifs (client), siw (smbdirect_rdma_mode siw; rxe uses
 * Debian's own rdma_rxe). Copies each into /lib/modules/RELEASE/updates/ only when its sha256
 * differs, runs `depmod -a RELEASE` when a file changed or modinfo does not yet resolve to
 * updates/, and loads the new modules: a stock ksmbd or cifs already loaded is unloaded first
 * (ksmbd stopped first and started again if it was running), only when the loaded module is not
 * the rebuilt one (srcversion). Refused under Secure Boot, lockdown or sig_enforce (the modules are
 * unsigned), on non-Debian kernels, and when other options are missing (INFINIBAND...).
 * Consequences, also in the message: the kernel is tainted (out-of-tree, unsigned modules); a new
 * kernel release needs a new build (run the play again after a kernel update).
 * Vars: smbdirect_kernel_policy, smbdirect_role (play), smbdirect_rdma_mode, smbdirect_modules_cache.
 * Example: a stock Debian 12 server, siw -> ksmbd.ko and siw.ko into /lib/modules/6.1.0-26-amd64/updates.
 */
import { basename } from 'node:path';
import { systemOf } from '../../src/facts/index.js';
import type { RebuiltModule } from '../../src/kernel/remedy.js';
import { cmd } from '../../src/quote.js';
import { modulesPrepare } from '../../src/smb/modules-prepare.js';
import { kernelPolicyOf, kernelPolicyOrUndefined, modulesRemedy, rdmaModeOf, roleOf } from '../../src/smb/support.js';
import type { Change, Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

export const PROBE_SHA = 'kernel-modules.sha256';
export const PROBE_LOADED = 'kernel-modules.srcversion';
const NAMES: RebuiltModule[] = ['cifs', 'ksmbd', 'siw', 'smbdirect'];

/** Parses `sha256sum` output: file basename -> hash. */
function shas(stdout: string): Map<string, string> {
  return new Map(stdout.split('\n').flatMap((l) => {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(l.trim());
    return m ? [[basename(m[2]!), m[1]!] as const] : [];
  }));
}

/** Parses "NAME SRCVERSION" lines (empty srcversion: not loaded or not exposed). */
function srcversions(stdout: string): Map<string, string> {
  return new Map(stdout.split('\n').flatMap((l) => {
    const [name, v] = l.trim().split(/\s+/);
    return name && v ? [[name, v] as const] : [];
  }));
}

/** rmmod NAME, retried for 10 s (a module just stopped may still be held); then fails, or only warns. */
export function unload(name: string, hint: string, onBusy: 'fail' | 'warn' = 'fail'): string {
  const giveUp = onBusy === 'fail' ? `echo ${cmd(`cannot unload the loaded ${name} module: ${hint}`)} >&2; exit 1` : `sd_warn ${cmd(`${name} module still in use, left loaded: ${hint}`)}; break`;
  return `i=0; while grep -q ${cmd(`^${name} `)} /proc/modules; do rmmod ${cmd(name)} 2>/dev/null && break; i=$((i+1)); if [ $i -ge 10 ]; then ${giveUp}; fi; sleep 1; done`;
}

const task: Task = {
  name: 'smbdirect: kernel modules (build-modules)',
  tags: ['smbdirect', 'kernel'],
  inventoryVars: clusterVars,
  // The build, on the controller, once per run before any host is touched.
  controllerPrepare: modulesPrepare,
  // Only under build-modules (the default policy is fail): other policies look at no module file.
  probes: (vars): Record<string, string> => (kernelPolicyOrUndefined(vars) === 'build-modules' ? {
    [PROBE_SHA]: `cd "/lib/modules/$(uname -r)/updates" 2>/dev/null && sha256sum ${NAMES.map((n) => `${n}.ko`).join(' ')} 2>/dev/null; true`,
    [PROBE_LOADED]: `for m in ${NAMES.join(' ')}; do v=; read -r v < /sys/module/$m/srcversion; printf '%s %s\\n' "$m" "$v"; done 2>/dev/null`,
  } : {}),
  plan({ vars, facts }) {
    const policy = kernelPolicyOf(vars);
    if (policy !== 'build-modules') return { status: 'skip', msg: `smbdirect_kernel_policy=${policy}: no modules are rebuilt` };
    const sys = systemOf(facts);
    const [role, mode] = [roleOf(vars), rdmaModeOf(vars)];
    const release = sys.kernel.release;
    const rem = modulesRemedy(sys, role, mode, vars);
    if (!rem.modules.length && !rem.problem) return { status: 'ok', msg: `kernel ${release} has what SMB Direct needs for a ${role} (${mode}): nothing to rebuild` };
    if (rem.problem) return { status: 'fail', msg: `${role} on kernel ${release}: ${rem.missing.map((m) => `CONFIG_${m.symbol} (${m.have})`).join(', ')} missing; ${rem.problem}` };
    const built = rem.built!;
    const updates = `/lib/modules/${release}/updates`;
    const onHost = shas(facts.probes[PROBE_SHA]?.stdout ?? '');
    const loadedVersion = srcversions(facts.probes[PROBE_LOADED]?.stdout ?? '');
    const changes: Change[] = [];
    const copied: string[] = [];
    for (const name of rem.modules) {
      const m = built.modules[name]!; // modulesRemedy: every listed module is built
      if (onHost.get(`${name}.ko`) === m.sha256) continue;
      changes.push({ kind: 'upload', src: m.path, path: `${updates}/${name}.ko`, mode: '0644', owner: 'root', group: 'root' });
      copied.push(name);
    }
    const resolved = rem.modules.every((n) => sys.modules.modules[n]?.path === `${updates}/${n}.ko`);
    if (copied.length || !resolved) changes.push({ kind: 'command', desc: `depmod -a ${release}`, cmd: cmd('depmod', '-a', release) });
    const swapped: string[] = [];
    const loadedNow: string[] = [];
    for (const name of rem.modules) {
      const want = built.modules[name]!.srcversion;
      const isLoaded = sys.modules.modules[name]?.loaded === true;
      const have = loadedVersion.get(name);
      // Loaded: is it the rebuilt one? srcversion says; without one, a module whose file we replace is stale.
      const stale = isLoaded && (want && have ? have !== want : copied.includes(name));
      if (isLoaded && !stale) continue;
      if (stale && name === 'ksmbd') {
        changes.push({
          kind: 'command',
          desc: 'replace the loaded ksmbd module (stop ksmbd, rmmod, modprobe, start again if it ran)',
          cmd: [
            'a=0; systemctl is-active --quiet ksmbd.service 2>/dev/null && a=1',
            'systemctl stop ksmbd.service 2>/dev/null; ksmbd.control -s >/dev/null 2>&1; true',
            unload('ksmbd', 'ksmbd is still in use; stop it (ksmbd.control -s) and run again'),
            cmd('modprobe', 'ksmbd'),
            'if [ $a = 1 ]; then systemctl start ksmbd.service; fi',
          ].join('\n'),
        });
      } else if (stale) {
        const hint = name === 'cifs' ? 'CIFS shares are mounted (umount -a -t cifs), then run again'
          : name === 'smbdirect' ? 'cifs and ksmbd use it: unmount the CIFS shares (umount -a -t cifs), stop ksmbd (ksmbd.control -s), rmmod cifs ksmbd, then run again'
            : 'RDMA links use it (rdma link delete LINK), then run again';
        changes.push({ kind: 'command', desc: `replace the loaded ${name} module (rmmod, modprobe)`, cmd: `${unload(name, hint)}\n${cmd('modprobe', name)}` });
      } else {
        changes.push({ kind: 'command', desc: `modprobe ${name}`, cmd: cmd('modprobe', name), unless: `grep -q ${cmd(`^${name} `)} /proc/modules` });
      }
      (stale ? swapped : loadedNow).push(name);
    }
    // Name the patches of the modules this host gets (a patch's file name says which module it fixes).
    const patches = built.patches.map((p) => basename(p)).filter((p) => rem.modules.some((n) => p.includes(n)) || !NAMES.some((n) => p.includes(n)));
    const what = [
      copied.length ? `installed ${copied.map((n) => `${n}.ko`).join(', ')} into ${updates} (rebuilt on the controller for ${release} with ${rem.missing.map((m) => `CONFIG_${m.symbol}`).join(', ')}${patches.length ? `, carrying ${patches.join(', ')} from src/kernel/patches` : ''})` : '',
      swapped.length ? `replaced the loaded stock ${swapped.join(', ')}` : '',
      loadedNow.length ? `loaded ${loadedNow.join(', ')}` : '',
    ].filter(Boolean);
    const consequences = 'these are out-of-tree, unsigned modules: loading them taints the kernel ("module verification failed"), Secure Boot lockdown would refuse them, and a kernel update needs a new build (run the play again)';
    const msg = `${what.join('; ') || `rebuilt ${rem.modules.join(', ')} in place`}: ${consequences}`;
    if (!changes.length) return { status: 'ok', msg: `rebuilt ${rem.modules.join(', ')} for ${release} installed and loaded${patches.length ? ` (carrying ${patches.join(', ')})` : ''}` };
    return { status: 'change', msg, changes };
  },
};
export default task;
