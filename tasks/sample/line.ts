/**
 * Ensures one line in /etc/environment: SMBDIRECT_SAMPLE=<sample_env_value> (replacing an older value).
 * Vars: sample_env_value (default "1"). Other lines are left alone.
 */
import { ensureLine } from '../../src/lines.js';
import type { Task } from '../../src/types.js';

const PATH = '/etc/environment';

const task: Task = {
  name: 'sample: line in /etc/environment',
  tags: ['sample', 'line'],
  reads: () => [PATH],
  plan({ vars, facts }) {
    const cur = facts.files[PATH];
    const want = ensureLine(cur?.content ?? '', `SMBDIRECT_SAMPLE=${String(vars.sample_env_value ?? '1')}`, /^SMBDIRECT_SAMPLE=/);
    return { status: 'change', msg: 'SMBDIRECT_SAMPLE set', changes: [{ kind: 'file', path: PATH, content: want }] };
  },
};
export default task;
