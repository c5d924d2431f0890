/**
 * Ensures the host has its RDMA device. hardware: an RDMA port with a network interface, ACTIVE.
 * siw/rxe: the soft link (e.g. siw0 on eth0) exists now and at every boot: a oneshot unit
 * /etc/systemd/system/smbdirect-rdma-LINK.service (templates/smbdirect-rdma-link.service.hbs,
 * ordered before ksmbd and remote-fs-pre.target, waiting for the netdev), enabled, plus
 * /etc/modules-load.d/smbdirect-rdma.conf. Creating the link now is gated by the kernel
 * (smbdirect_kernel_policy=warn: files only); on a server with ksmbd running it notifies
 * "restart ksmbd" (ksmbd picks its RDMA port at start).
 * A list of netdevs (SMB3 multichannel over RDMA: one soft link per NIC) gets one link and one
 * unit per entry, each planned as a single link is.
 * Vars: smbdirect_role (play), smbdirect_rdma_mode (siw), smbdirect_rdma_netdev (default: the
 * interface carrying ansible_host, else the default route's; never lo; or a list of 1-4),
 * smbdirect_rdma_link_name (a list for a list of netdevs; default siw0, siw1, ...).
 * Example: smbdirect_rdma_mode: rxe, smbdirect_rdma_netdev: eth1 -> rxe0 on eth1;
 * smbdirect_rdma_netdev: [eth1, eth2] -> siw0 on eth1, siw1 on eth2.
 */
import { systemOf, type SystemFacts } from '../../src/facts/index.js';
import { cmd } from '../../src/quote.js';
import { DAEMON_RELOAD, RESTART_KSMBD } from '../../src/smb/handlers.js';
import { SOFT_RDMA, kernelGate, linkNamesOf, rdmaModeOf, roleOf, softLinks, type SoftLink } from '../../src/smb/support.js';
import { render } from '../../src/render.js';
import { systemdEscape } from '../../src/smb/systemd.js';
export { systemdEscape };
import type { Change, Handler, Plan, Task, Vars } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

export const MODULES_LOAD = '/etc/modules-load.d/smbdirect-rdma.conf';
export const unitName = (link: string): string => `smbdirect-rdma-${link}.service`;
export const unitPath = (link: string): string => `/etc/systemd/system/${unitName(link)}`;
/** How long the boot-time unit waits for its netdev to appear (a oneshot has no start timeout). */
const NETDEV_WAIT_S = 600;

/** One argument of an Exec= line: double quotes with \ and " escaped; % and $ doubled (no specifiers, no variables). */
export const systemdArg = (s: string): string => `"${s.replace(/[\\"]/g, '\\$&').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;

export function renderLinkUnit(link: string, mode: 'siw' | 'rxe', netdev: string): string {
  const soft = SOFT_RDMA[mode];
  // The netdev may appear late in a slow boot (udev under load took 3 min in the VM lab).
  const waitNetdev = `i=0; while [ ! -e ${cmd(`/sys/class/net/${netdev}`)} ]; do [ $i -ge ${NETDEV_WAIT_S} ] && echo ${cmd(`${netdev} did not appear within ${NETDEV_WAIT_S} s`)} >&2 && exit 1; i=$((i+1)); sleep 1; done`;
  const script = `${waitNetdev}; ${cmd('rdma', 'dev', 'show', link)} >/dev/null 2>&1 || ${cmd('rdma', 'link', 'add', link, 'type', soft.type, 'netdev', netdev)}`;
  return render('smbdirect-rdma-link.service.hbs', {
    link, type: soft.type, netdev: netdev.replace(/%/g, '%%'), module: cmd(soft.module), script: systemdArg(script),
  });
}

function hardware(sys: SystemFacts, vars: Vars): Plan {
  const want = typeof vars.smbdirect_rdma_netdev === 'string' ? vars.smbdirect_rdma_netdev : undefined;
  const show = (d: SystemFacts['rdma']['devices'][number]) => `${d.name}/${d.port} (${d.nodeType}) on ${d.netdev ?? 'no netdev'}, ${d.state ?? 'state unknown'}`;
  const devs = sys.rdma.devices.filter((d) => d.netdev && (!want || d.netdev === want));
  const all = sys.rdma.devices.map(show).join('; ') || 'none';
  if (!devs.length) {
    const where = want ? `on smbdirect_rdma_netdev ${want}` : 'with a network interface';
    return { status: 'fail', msg: `smbdirect_rdma_mode is hardware, but no RDMA device ${where} (devices: ${all}): load the card's driver (e.g. mlx5_ib), or use smbdirect_rdma_mode siw or rxe` };
  }
  const active = devs.filter((d) => d.state === 'ACTIVE');
  if (!active.length) return { status: 'fail', msg: `no RDMA port is ACTIVE (${devs.map(show).join('; ')}): check the link (cable, switch, ip link set NETDEV up)` };
  const down = devs.filter((d) => d.state !== 'ACTIVE').map(show);
  return { status: 'ok', msg: `hardware RDMA: ${active.map(show).join('; ')}`, warnings: down.length ? [`RDMA ports not ACTIVE: ${down.join('; ')}`] : [] };
}

interface LinkPlan { changes: Change[]; warnings: string[]; msg: string; existing: boolean; error?: string }

/** One soft link: its boot unit, enabling it, and whether it must be created (the caller adds the command). */
function planLink(sys: SystemFacts, mode: 'siw' | 'rxe', { link, netdev, how }: SoftLink): LinkPlan {
  const soft = SOFT_RDMA[mode];
  const fail = (error: string): LinkPlan => ({ changes: [], warnings: [], msg: '', existing: false, error });
  // A link of that name elsewhere, or a soft device of this type already on the netdev?
  const existing = sys.rdma.devices.find((d) => d.name === link);
  if (existing && (existing.netdev !== netdev || !['unknown', soft.nodeType].includes(existing.nodeType))) {
    return fail(`RDMA device ${link} already exists (${existing.nodeType} on ${existing.netdev ?? 'no netdev'}), not ${soft.type} on ${netdev}: delete it (rdma link delete ${link}) or set smbdirect_rdma_link_name / smbdirect_rdma_netdev to match`);
  }
  const twin = sys.rdma.devices.find((d) => d.name !== link && d.name.startsWith(soft.type) && d.netdev === netdev);
  if (twin) return fail(`${netdev} already has the ${soft.type} device ${twin.name}: set smbdirect_rdma_link_name: ${twin.name} (or delete it: rdma link delete ${twin.name})`);
  const unit = unitName(link);
  const changes: Change[] = [{ kind: 'file', path: unitPath(link), content: renderLinkUnit(link, mode, netdev), mode: '0644', owner: 'root', group: 'root', notify: [DAEMON_RELOAD] }];
  if (sys.services.units.find((u) => u.name === unit)?.enabled !== 'enabled') changes.push({ kind: 'service', name: unit, enabled: true });
  const warnings: string[] = [];
  const dev = sys.net.netdevs.find((d) => d.name === netdev);
  if (dev && (!dev.up || !dev.addrs.some((a) => !a.address.startsWith('fe80')))) warnings.push(`${netdev} is ${dev.up ? 'up' : 'down'}${dev.addrs.length ? '' : ' without an address'}: RDMA needs a real interface address`);
  const msg = `${link} (${soft.type}) on ${netdev} [${how}]${existing ? ` exists, ${existing.state ?? 'state unknown'}` : ''}; at boot: ${unit}`;
  return { changes, warnings, msg, existing: existing !== undefined };
}

const task: Task = {
  name: 'smbdirect: RDMA link',
  tags: ['smbdirect', 'rdma'],
  inventoryVars: clusterVars,
  reads: (vars) => {
    // reads() must not throw (a throw fails fact gathering): a bad mode or link name is the validate task's to report.
    try {
      const mode = rdmaModeOf(vars);
      return mode === 'hardware' ? [] : [...linkNamesOf(vars, mode).map(unitPath), MODULES_LOAD];
    } catch {
      return [];
    }
  },
  plan(ctx) {
    const { vars, facts } = ctx;
    const sys = systemOf(facts);
    const [role, mode] = [roleOf(vars), rdmaModeOf(vars)];
    if (mode === 'hardware') return hardware(sys, vars);
    const soft = SOFT_RDMA[mode];
    const links = softLinks(vars, sys, mode);
    if ('error' in links) return { status: 'fail', msg: links.error };
    // Several links (one per NIC, for multichannel): each planned as the single one always was.
    const plans = links.map((l) => planLink(sys, mode, l));
    const errors = plans.flatMap((p) => (p.error ? [p.error] : []));
    if (errors.length) return { status: 'fail', msg: errors.join('; ') };
    const changes: Change[] = [
      ...plans.flatMap((p) => p.changes.filter((c) => c.kind === 'file')),
      { kind: 'file', path: MODULES_LOAD, content: `# Managed by smbdirect-provision: soft RDMA for SMB Direct\n${soft.module}\n`, mode: '0644', owner: 'root', group: 'root' },
      ...plans.flatMap((p) => p.changes.filter((c) => c.kind !== 'file')),
    ];
    const warnings = plans.flatMap((p) => p.warnings);
    const missing = links.filter((_, i) => !plans[i]!.existing);
    if (missing.length) {
      const gate = kernelGate(ctx, role, ['INFINIBAND', soft.symbol]);
      if (!gate.proceed && gate.plan.status !== 'skip') return gate.plan;
      if (!gate.proceed) {
        const staged = changes.every((c) => c.kind === 'file' && facts.files[c.path]?.content === c.content);
        if (staged) return { ...gate.plan, warnings };
        for (const { link } of missing) warnings.push(`${link} not created now: ${gate.plan.msg}`);
      } else {
        const notify = role === 'server' && sys.services.ksmbdRunning ? [RESTART_KSMBD] : [];
        for (const { link, netdev } of missing) {
          const add = `${cmd('modprobe', soft.module)} && ${cmd('rdma', 'link', 'add', link, 'type', soft.type, 'netdev', netdev)}`;
          changes.push({ kind: 'command', desc: `create RDMA link ${link}`, cmd: add, unless: cmd('rdma', 'dev', 'show', link), notify });
        }
      }
    }
    return { status: 'change', msg: plans.map((p) => p.msg).join('; '), changes, warnings };
  },
};
export default task;

export const handlers: Handler[] = [
  {
    name: DAEMON_RELOAD,
    // Only where systemd runs (not in a chroot or a container without it).
    changes: () => [{ kind: 'command', desc: 'systemctl daemon-reload', cmd: 'systemctl daemon-reload', unless: '[ ! -d /run/systemd/system ]' }],
  },
];
