/**
 * Ensures ksmbd.service is enabled (noting in /var/lib/smbdirect-provision/ksmbd-enabled that
 * we enabled it, so teardown disables only what it enabled) and, when the kernel allows it (kernelGate: SMB_SERVER and
 * SMB_SERVER_SMBDIRECT, smbdirect_kernel_policy) and systemd runs, started. Without a running
 * systemd (a chroot, a lab host) it is still enabled (the engine falls back to
 * `systemctl --root=/`), and the start is skipped with the reason.
 * Defines the handlers "restart ksmbd" (`systemctl try-restart`: only a running ksmbd is
 * restarted, so a host whose kernel gate blocked the start is left alone) and "reload ksmbd"
 * (`systemctl reload` when the unit has ExecReload, i.e. ksmbd.control --reload; old units such
 * as ksmbd-tools 3.4.4's oneshot have none, so they are restarted). Handlers cannot see facts:
 * both guard themselves on the host and do nothing where systemd does not run or ksmbd is stopped.
 * Vars: smbdirect_kernel_policy, smbdirect_rdma_mode.
 * Example: a fresh Ubuntu 24.04 server -> enable + start ksmbd.service.
 */
import { systemOf } from '../../src/facts/index.js';
import { RELOAD_KSMBD, RESTART_KSMBD } from '../../src/smb/handlers.js';
import { kernelGate } from '../../src/smb/support.js';
import type { Change, Handler, Task } from '../../src/types.js';

export const KSMBD_UNIT = 'ksmbd.service';
import { STATE_DIR } from '../../src/smb/created-dirs.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';
export { STATE_DIR };
/** Written when this task enables ksmbd.service: teardown disables only what we enabled. */
export const ENABLED_MARK = `${STATE_DIR}/ksmbd-enabled`;
const NO_SYSTEMD = '[ ! -d /run/systemd/system ]';
const NOT_ACTIVE = `${NO_SYSTEMD} || ! systemctl is-active --quiet ${KSMBD_UNIT}`;

const task: Task = {
  name: 'smbdirect: ksmbd service',
  tags: ['smbdirect', 'ksmbd', 'service'],
  inventoryVars: clusterVars,
  reads: () => [ENABLED_MARK],
  plan(ctx) {
    const sys = systemOf(ctx.facts);
    const unit = sys.services.units.find((u) => u.name === KSMBD_UNIT);
    const changes: Change[] = [];
    if (unit?.enabled !== 'enabled') {
      changes.push({ kind: 'service', name: KSMBD_UNIT, enabled: true });
      changes.push({ kind: 'file', path: ENABLED_MARK, content: '# ksmbd.service was enabled by smbdirect-provision: its teardown disables it again.\n', mode: '0644', owner: 'root', group: 'root' });
    }
    const running = unit?.active === 'active' || sys.services.ksmbdRunning;
    if (running) return { status: 'change', msg: `${KSMBD_UNIT} enabled, running`, changes };
    // Not running: may it start? The kernel first, then systemd.
    const gate = kernelGate(ctx, 'server');
    if (!gate.proceed && gate.plan.status === 'fail') return gate.plan;
    const why = !gate.proceed
      ? gate.plan.msg
      : sys.services.systemdRunning ? undefined : 'systemd is not running on this host (a chroot or container): enabled for the next boot';
    if (!why) return { status: 'change', msg: `${KSMBD_UNIT} enabled, started`, changes: [...changes, { kind: 'service', name: KSMBD_UNIT, state: 'started', satisfies: [RESTART_KSMBD, RELOAD_KSMBD] }] };
    if (changes.length === 0) return { status: 'skip', msg: `${KSMBD_UNIT} enabled, not started: ${why}` };
    return { status: 'change', msg: `${KSMBD_UNIT} enabled, not started`, changes, warnings: [`${KSMBD_UNIT} not started: ${why}`] };
  },
};
export default task;

export const handlers: Handler[] = [
  {
    name: RESTART_KSMBD,
    changes: () => [{ kind: 'command', desc: `restart ${KSMBD_UNIT} if running`, cmd: `systemctl try-restart ${KSMBD_UNIT}`, unless: NO_SYSTEMD }],
  },
  {
    name: RELOAD_KSMBD,
    changes: () => [{
      kind: 'command',
      desc: `reload ${KSMBD_UNIT} if running (restart without ExecReload)`,
      cmd: `if [ -n "$(systemctl show -p ExecReload --value ${KSMBD_UNIT})" ]; then systemctl reload ${KSMBD_UNIT}; else systemctl restart ${KSMBD_UNIT}; fi`,
      unless: NOT_ACTIVE,
    }],
  },
];
