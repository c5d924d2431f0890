/**
 * Ensures /etc/ksmbd/ksmbd.conf is rendered from ksmbd_global and ksmbd_shares
 * (templates/ksmbd.conf.hbs), 0644 root:root. A change under [global] notifies "restart ksmbd"
 * (ksmbd reads its globals only at start); a change of shares only notifies "reload ksmbd";
 * a change of comments or layout alone notifies nothing.
 * Vars: ksmbd_global, ksmbd_shares (docs/variables.md).
 * Example: adding a share -> reload; `smb3 encryption: mandatory` -> restart.
 */
import { systemOf } from '../../src/facts/index.js';
import { smbModel } from '../../src/smb/cluster.js';
import { RELOAD_KSMBD, RESTART_KSMBD } from '../../src/smb/handlers.js';
import { KSMBD_CONF, ksmbdConfChange, renderKsmbdConf } from '../../src/smb/ksmbd-conf.js';
import { compareDebVersions, ksmbdToolsInstalled, upstreamVersion } from '../../src/smb/support.js';
import type { Task } from '../../src/types.js';
import { clusterVars } from '../../src/smb/inventory-cluster.js';

const NOTIFY = { none: [], reload: [RELOAD_KSMBD], restart: [RESTART_KSMBD] } as const;

const task: Task = {
  name: 'smbdirect: ksmbd.conf',
  tags: ['smbdirect', 'ksmbd', 'config'],
  inventoryVars: clusterVars,
  reads: () => [KSMBD_CONF],
  plan({ vars, facts, host }) {
    const model = smbModel(vars, host);
    const content = renderKsmbdConf(model);
    const cur = facts.files[KSMBD_CONF];
    const kind = ksmbdConfChange(cur?.exists && !cur.isDir ? cur.content : undefined, content);
    const warnings: string[] = [];
    // ksmbd-tools <= 3.4.5 read /etc/ksmbd/smb.conf; the packages task installs a newer one.
    const tools = 'kernel' in facts.system ? ksmbdToolsInstalled(systemOf(facts)) : null;
    if (tools && compareDebVersions(upstreamVersion(tools.version), '3.4.6') < 0) {
      warnings.push(`ksmbd-tools ${tools.version} reads /etc/ksmbd/smb.conf, not ${KSMBD_CONF}: install ksmbd-tools >= 3.5.2`);
    }
    const why = { none: '', reload: ' (shares changed: reload)', restart: ' ([global] changed: restart)' }[kind];
    return {
      status: 'change',
      msg: `${KSMBD_CONF}: ${model.shares.length} share(s)${why}`,
      changes: [{ kind: 'file', path: KSMBD_CONF, content, mode: '0644', owner: 'root', group: 'root', notify: [...NOTIFY[kind]] }],
      warnings,
    };
  },
};
export default task;
