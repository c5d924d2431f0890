/**
 * Ensures /etc/smbdirect-sample.conf is rendered from templates/sample.conf.hbs.
 * Vars: sample_message (string), sample_items (list). Example: sample_message: "hello".
 * Notifies "record reload" when the file changes.
 */
import { render } from '../../src/render.js';
import type { Handler, Task } from '../../src/types.js';
import { cmd } from '../../src/quote.js';

export const SAMPLE_CONF = '/etc/smbdirect-sample.conf';
export const RELOAD_LOG = '/var/lib/smbdirect-sample/reloads';

const task: Task = {
  name: 'sample: render /etc/smbdirect-sample.conf',
  tags: ['sample', 'config'],
  reads: () => [SAMPLE_CONF],
  plan({ vars }) {
    const content = render('sample.conf.hbs', {
      inventory_hostname: vars.inventory_hostname,
      message: vars.sample_message ?? 'hello from smbdirect',
      items: vars.sample_items ?? [],
    });
    return {
      status: 'change',
      msg: `${SAMPLE_CONF} rendered`,
      changes: [{ kind: 'file', path: SAMPLE_CONF, content, mode: '0644', owner: 'root', group: 'root', notify: ['record reload'] }],
    };
  },
};
export default task;

export const handlers: Handler[] = [
  {
    name: 'record reload',
    changes: () => [
      { kind: 'dir', path: '/var/lib/smbdirect-sample', mode: '0755' },
      { kind: 'command', desc: 'record a reload', cmd: `date +%s >> ${cmd(RELOAD_LOG)}` },
    ],
  },
];
