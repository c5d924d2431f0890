/**
 * Runs a guarded command: creates /var/lib/smbdirect-sample/marker unless it exists.
 * Vars: sample_fail (bool) makes the command fail on that host, to show per-host failure isolation.
 */
import { truthy } from '../../src/truthy.js';
import { cmd } from '../../src/quote.js';
import type { Task } from '../../src/types.js';

const MARKER = '/var/lib/smbdirect-sample/marker';

const task: Task = {
  name: 'sample: guarded command',
  tags: ['sample', 'command'],
  probes: () => ({ sample_marker: `test -e ${cmd(MARKER)}` }),
  plan({ vars, facts }) {
    if (truthy(vars.sample_fail)) {
      return { status: 'change', changes: [{ kind: 'command', desc: 'fail on purpose', cmd: "echo 'sample_fail is set on this host' >&2; exit 3" }] };
    }
    // Marker already there? Then the guard would skip the command: nothing to do.
    if (facts.probes.sample_marker?.code === 0) return { status: 'ok', msg: `${MARKER} exists` };
    return {
      status: 'change',
      msg: `${MARKER} created`,
      changes: [{ kind: 'command', desc: 'create marker', cmd: `mkdir -p /var/lib/smbdirect-sample && touch ${cmd(MARKER)}`, unless: `test -e ${cmd(MARKER)}` }],
    };
  },
};
export default task;
