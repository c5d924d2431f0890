// The checks of the verify task, from facts alone: each PASS, FAIL or SKIP with its reason. A
// check that cannot pass because of the kernel FAILs naming the missing option; a check that
// cannot be judged for another reason (dmesg unreadable, nothing to check) is a SKIP.
import type { CifsMount, DmesgLine, SystemFacts } from '../facts/index.js';
import { agoText, ESTABLISHED, unansweredText } from './unanswered.js';
import { parseDebugData, type CifsServer, type SmbDirectConnection } from './debugdata.js';
import { channelsText, multichannelVerdict, serverBlock, wantedChannels } from './channels.js';
import { mountLog } from './mount-log.js';
import { modeTypes, rdmaPorts } from './rdma-ports.js';
import { hasSmbdirectModule } from './kconfig-fragment.js';
import type { Check, HostInfo, ModuleInfo, Vars } from '../types.js';
import type { RdmaMode } from './model.js';
import { SOFT_RDMA, kernelSupport, ksmbdToolsInstalled, ksmbdToolsTooOld, linkNamesOf, rdmaNetdevs, supportProblems, upstreamVersion, type KernelSupport, type Role } from './support.js';

export type { Check, CheckStatus } from '../types.js';

const pass = (name: string, detail: string): Check => ({ name, status: 'PASS', detail });
const fail = (name: string, detail: string): Check => ({ name, status: 'FAIL', detail });
const skip = (name: string, detail: string): Check => ({ name, status: 'SKIP', detail });

/** "kernel lacks CONFIG_X (not set)" when one of these options is missing (or the kernel is too old). */
function blame(s: KernelSupport, symbols: string[]): string | undefined {
  return supportProblems(s, symbols)[0] ?? (s.kernelTooOld ? s.kernelTooOld.replace(/:.*$/, '') : undefined);
}

function ago(sys: SystemFacts, t: number | null): string {
  const text = agoText(sys.dmesg.uptime, t);
  return text ? ` ${text}` : '';
}

function kernelCheck(sys: SystemFacts, s: KernelSupport): Check {
  const problems = [...(s.kernelTooOld ? [s.kernelTooOld] : []), ...(s.device ? [s.device] : []), ...s.missing.map((m) => m.meaning)];
  if (problems.length) return fail('kernel options', problems.join('; '));
  // 7.1+: SMB Direct is smbdirect.ko: say whether it is loaded and from where (a rebuilt one is under updates/).
  const sd = sys.modules.modules.smbdirect;
  const module = hasSmbdirectModule(sys.kernel) && sd ? `; smbdirect.ko ${sd.loaded ? 'loaded' : 'not loaded'}${sd.path ? ` (${sd.path})` : ''}` : '';
  return pass('kernel options', `${s.present.join(', ')}${s.unknown.length ? `; unverified: ${s.unknown.join(', ')}` : ''}${module}`);
}

/** An RDMA device as the link checks show it. */
const showDevice = (d: SystemFacts['rdma']['devices'][number]): string => `${d.name} (${d.nodeType}) on ${d.netdev ?? 'no netdev'}, ${d.state ?? 'state unknown'}`;

function linkChecks(sys: SystemFacts, vars: Vars, mode: RdmaMode, s: KernelSupport): Check[] {
  if (mode === 'hardware') {
    const active = sys.rdma.devices.filter((d) => d.netdev && d.state === 'ACTIVE');
    return [active.length ? pass('RDMA device', active.map(showDevice).join('; ')) : fail('RDMA device', s.device ?? `no ACTIVE RDMA port with a netdev (${sys.rdma.devices.map(showDevice).join('; ') || 'no device'})`)];
  }
  const soft = SOFT_RDMA[mode];
  const names = linkNamesOf(vars, mode);
  const nds = rdmaNetdevs(vars, sys);
  const perLink = names.map((link, i) => oneLinkChecks(sys, soft, link, 'error' in nds ? undefined : nds[i]?.netdev, s));
  // Several links (multichannel): still one 'RDMA link' and one 'RDMA link at boot' check. The
  // cluster report has a column per check name, so per-link names (or numbers) would add columns
  // that most of 200 hosts leave empty, and a host's links would sit apart; one cell per host
  // reads better, FAIL when any link fails, its detail naming each link (the failing first).
  return [merge('RDMA link', perLink.map((c) => c[0])), merge('RDMA link at boot', perLink.map((c) => c[1]))];
}

/** One check from one per link: the worst status; the details, failing links first. */
function merge(name: string, checks: Check[]): Check {
  if (checks.length === 1) return checks[0]!;
  const rank = { FAIL: 0, SKIP: 1, PASS: 2 } as const;
  const sorted = [...checks].sort((a, b) => rank[a.status] - rank[b.status]);
  const status = sorted[0]!.status;
  // Without systemd every link skips for the same reason: once is enough.
  const details = [...new Set(sorted.map((c) => c.detail))];
  return { name, status, detail: details.join('; ') };
}

/** 'RDMA link' and 'RDMA link at boot' for one soft link (`want`: its netdev, when known). */
function oneLinkChecks(sys: SystemFacts, soft: (typeof SOFT_RDMA)[keyof typeof SOFT_RDMA], link: string, want: string | undefined, s: KernelSupport): [Check, Check] {
  const dev = sys.rdma.devices.find((d) => d.name === link);
  const unit = `smbdirect-rdma-${link}.service`;
  let linkCheck: Check;
  if (!dev) {
    const others = sys.rdma.devices.map(showDevice).join('; ');
    linkCheck = fail('RDMA link', blame(s, ['INFINIBAND', soft.symbol]) ?? `no RDMA link ${link}${others ? ` (devices: ${others})` : ''}: run the rdma-link task, or systemctl start ${unit}`);
  } else if (want && dev.netdev !== want) linkCheck = fail('RDMA link', `${showDevice(dev)}, expected on ${want}`);
  else if (dev.state !== 'ACTIVE') linkCheck = fail('RDMA link', `${showDevice(dev)}: the port is not ACTIVE (is ${dev.netdev ?? 'its netdev'} up?)`);
  else linkCheck = pass('RDMA link', showDevice(dev));
  const u = sys.services.units.find((x) => x.name === unit);
  const boot = !sys.host.systemd
    ? skip('RDMA link at boot', 'no systemd on this host')
    : u?.enabled === 'enabled'
      ? pass('RDMA link at boot', `${unit} enabled${u.active ? `, ${u.active}` : ''}`)
      : fail('RDMA link at boot', `${unit} is ${u?.enabled ?? 'not installed'}: the link will not come back after a reboot (run the rdma-link task)`);
  return [linkCheck, boot];
}

function serverChecks(sys: SystemFacts, mode: RdmaMode, s: KernelSupport): Check[] {
  const running = sys.services.ksmbdRunning;
  const unit = sys.services.units.find((u) => u.name === 'ksmbd.service');
  const tools = ksmbdToolsInstalled(sys);
  const old = tools && ksmbdToolsTooOld(sys, tools.version) ? `; ksmbd-tools ${upstreamVersion(tools.version)} is too old for kernel ${sys.kernel.release} (payload_sz): install >= 3.5.2` : '';
  const why = blame(s, ['SMB_SERVER']) ?? `ksmbd.service is ${unit?.active ?? unit?.enabled ?? 'not installed'} (journalctl -u ksmbd)${old}`;
  const procs = sys.services.ksmbdProcesses.map((p) => p.comm);
  const checks = [running ? pass('ksmbd running', [...new Set(procs)].join(', ')) : fail('ksmbd running', why)];
  const tcp = (port: number) => sys.ports.listeners.filter((l) => l.proto === 'tcp' && l.port === port).map((l) => l.address);
  const l445 = tcp(445);
  checks.push(l445.length ? pass('listening TCP 445', l445.join(' ')) : fail('listening TCP 445', running ? 'ksmbd runs but nothing listens on TCP 445 (tcp port in ksmbd.conf?)' : why));
  const iwarp = sys.rdma.devices.filter((d) => d.nodeType === 'iwarp').map((d) => d.name);
  // Only an iWARP listener shows in ss (siw runs over kernel TCP); which port it has: src/smb/rdma-ports.ts.
  const ports = rdmaPorts(sys.kernel, [...modeTypes(mode, sys.rdma.devices), ...sys.rdma.devices.map((d) => d.nodeType)]);
  const port = ports.listeners.find((l) => l.types.includes('iwarp'))?.port;
  if (!port) {
    checks.push(skip('listening TCP 5445', `no iWARP device: ${ports.rule}, so ksmbd's RDMA listener is on port 445 through RDMA CM, which ss does not show`));
    return checks;
  }
  const listening = tcp(port);
  const late = ports.perType
    ? `ksmbd's iWARP listener is not up although ${iwarp.join(', ')} exists (${ports.rule}): restart ksmbd`
    : `ksmbd was started before the iWARP device ${iwarp.join(', ')} existed (${ports.rule}): restart ksmbd`;
  const cause = blame(s, ['SMB_SERVER_SMBDIRECT', ...(mode === 'siw' ? ['RDMA_SIW'] : [])])
    ?? (!running ? why : !iwarp.length ? 'no iWARP device yet (the siw link is missing)' : late);
  checks.push(listening.length ? pass(`listening TCP ${port}`, `${listening.join(' ')} (SMB Direct over iWARP)`) : fail(`listening TCP ${port}`, cause));
  return checks;
}

interface WantedMount { path: string; share: string; server?: string; options: string[] }

function wantedMounts(vars: Vars): WantedMount[] | string {
  const raw = vars.smb_mounts;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return 'smb_mounts is not a list';
  const out: WantedMount[] = [];
  for (const [i, m] of raw.entries()) {
    const r = m as Record<string, unknown> | null;
    if (!r || typeof r.path !== 'string' || typeof r.share !== 'string') return `smb_mounts[${i}] needs path and share`;
    const options = Array.isArray(r.options) ? r.options.filter((o): o is string => typeof o === 'string') : [];
    out.push({ path: r.path.length > 1 ? r.path.replace(/\/+$/, '') : r.path, share: r.share, options, ...(typeof r.server === 'string' ? { server: r.server } : {}) });
  }
  return out;
}

const RDMA_ERROR = /smbd_|smbdirect_|rdma_\w+\(\) (failed|completed)|rdma_connect failed|connecting failed|SMB Direct requires|CONFIG_CIFS_SMB_DIRECT is not enabled/;

/** "RDMA transport established" in the mount's own part of the log (src/smb/mount-log.ts). */
function dmesgCheck(sys: SystemFacts, m: CifsMount, path: string): Check {
  const name = `dmesg ${path}`;
  const { attempt, lines: window } = mountLog(sys.dmesg.lines, m.source);
  const ok = [...window].reverse().find((l) => ESTABLISHED.test(l.text));
  const err = [...window].reverse().find((l) => RDMA_ERROR.test(l.text));
  if (ok) return pass(name, `"${ok.text}"${ago(sys, ok.t)}${attempt ? '' : ` (the mount's own "Attempting to mount" line is no longer in the log)`}`);
  if (!attempt) return skip(name, `no log lines for ${m.source} (dmesg rotated?)`);
  return fail(name, `no "RDMA transport established" since "${attempt.text}"${ago(sys, attempt.t)}${err ? `; last RDMA error: "${err.text}"` : ''}`);
}

/**
 * Only for a mount that asks for more than one channel (multichannel, max_channels=N): a mount
 * that asks for one has nothing to judge, and a SKIP for it would put a column of SKIPs in the
 * cluster matrix for every ordinary client. Its channel count still shows in its mount check.
 */
function multichannelCheck(sys: SystemFacts, m: CifsMount, w: WantedMount, block: CifsServer | null): Check | null {
  const wanted = wantedChannels(m.options, w.options);
  if (wanted === null) return null;
  const log = sys.dmesg.readable ? mountLog(sys.dmesg.lines, m.source) : null;
  const v = multichannelVerdict(block, log, wanted, m.source);
  return (v.ok ? pass : fail)(`multichannel ${w.path}`, v.detail);
}

function clientChecks(sys: SystemFacts, vars: Vars, s: KernelSupport, host?: string): Check[] {
  const wanted = wantedMounts(vars);
  if (typeof wanted === 'string') return [fail('smb_mounts', `${wanted} (see the variables check)`)];
  if (!wanted.length) return [skip('mounts', 'no smb_mounts on this host')];
  const lastErr = [...sys.dmesg.lines].reverse().find((l: DmesgLine) => RDMA_ERROR.test(l.text));
  const checks: Check[] = [];
  const debugData = parseDebugData(sys.evidence.lines.join('\n'));
  let mounted = 0;
  for (const w of wanted) {
    const m = sys.mounts.find((x) => x.target === w.path);
    const cause = blame(s, ['CIFS', 'CIFS_SMB_DIRECT']);
    if (!m) {
      checks.push(fail(`mount ${w.path}`, cause ?? `not mounted${lastErr ? `; last RDMA error in dmesg: "${lastErr.text}"` : ''}`));
      if (cause) checks.push(fail(`dmesg ${w.path}`, cause));
      else checks.push(skip(`dmesg ${w.path}`, 'not mounted'));
      if (wantedChannels(w.options) !== null) checks.push(skip(`multichannel ${w.path}`, 'not mounted'));
      continue;
    }
    const block = serverBlock(debugData, m);
    const channels = block ? `, ${channelsText(block)}` : '';
    const share = m.source.replace(/\\/g, '/').split('/').filter(Boolean)[1] ?? '';
    const vers = m.options.find((o) => o.startsWith('vers=')) ?? 'vers=?';
    if (share.toLowerCase() !== w.share.toLowerCase()) checks.push(fail(`mount ${w.path}`, `${m.source} is mounted there, not share ${w.share}`));
    else if (!m.options.includes('rdma')) checks.push(fail(`mount ${w.path}`, `${m.source} is mounted over TCP (no rdma option)${cause ? `: ${cause}` : ''}`));
    else if (m.answer) checks.push(fail(`mount ${w.path}`, unansweredText(sys, m, { server: w.server, host })));
    else { checks.push(pass(`mount ${w.path}`, `${m.source} ${vers},rdma${channels}`)); mounted++; }
    checks.push(sys.dmesg.readable ? dmesgCheck(sys, m, w.path) : skip(`dmesg ${w.path}`, sys.dmesg.note ?? 'dmesg not readable'));
    const multi = multichannelCheck(sys, m, w, block);
    if (multi) checks.push(multi);
  }
  checks.push(debugDataCheck(sys, s, mounted));
  return checks;
}

/** A connected SMBDirect transport in /proc/fs/cifs/DebugData, either form (src/smb/debugdata.ts). */
function debugDataCheck(sys: SystemFacts, s: KernelSupport, mounted: number): Check {
  const conns = parseDebugData(sys.evidence.lines.join('\n')).connections;
  const up = conns.filter((c) => c.connected);
  const name = 'cifs DebugData SMBDirect';
  const cause = blame(s, ['CIFS', 'CIFS_SMB_DIRECT']);
  const show = (c: SmbDirectConnection) => (c.statusName ? `${c.statusName}${c.status === null ? '' : ` (${c.status})`}` : c.line);
  if (up.length) return pass(name, `${up.length} of ${conns.length} SMBDirect connection(s) connected ("${up[0]!.line}")`);
  if (cause) return fail(name, cause);
  if (!sys.evidence.debugData) return mounted ? fail(name, '/proc/fs/cifs/DebugData is not readable') : skip(name, 'cifs is not loaded (nothing mounted)');
  return fail(name, conns.length ? `no connected SMBDirect transport: ${conns.map(show).join('; ')}` : 'no SMBDirect connection (the mounts use TCP)');
}

const OOPS = /Oops|BUG:|general protection fault|Call Trace/;
const IN_SMB = /\[(ksmbd|cifs|smbdirect)\]|\b(ksmbd|cifs|smb2|smb|smbd|smbdirect)_\w*\+0x/;

/** The watchdog's "BUG: soft lockup" (a CPU not scheduling for 20 s) is a warning, not an oops. */
const SOFT_LOCKUP = /BUG: soft lockup/;

/** An Oops/BUG/GPF/Call Trace line with a ksmbd or cifs frame within the next 60 lines (or the marker itself). */
function oopsCheck(sys: SystemFacts): Check {
  const name = 'no ksmbd/cifs oops';
  if (!sys.dmesg.readable) return skip(name, sys.dmesg.note ?? 'dmesg not readable');
  const lines = sys.dmesg.lines;
  const lockups: string[] = [];
  for (const [i, l] of lines.entries()) {
    if (!OOPS.test(l.text)) continue;
    const frame = lines.slice(i, i + 60).find((x) => IN_SMB.test(x.text) && !/Modules linked in/.test(x.text));
    if (!frame) continue;
    // The kernel goes on after a soft lockup and nothing is left half-done; a VM starved by its
    // host logs them too (seen under TCG on a loaded 2-core machine, in cifs's smbd_destroy at
    // boot). Said, not failed; the Call Trace lines after it are the same event.
    if (SOFT_LOCKUP.test(l.text)) { lockups.push(`"${l.text}"${ago(sys, l.t)}, in "${frame.text.trim()}"`); continue; }
    if (lockups.length && /Call Trace/.test(l.text) && SOFT_LOCKUP.test(lines.slice(Math.max(0, i - 60), i).map((x) => x.text).join('\n'))) continue;
    const known = /opinfo_put/.test(frame.text) ? " (Debian 6.1's ksmbd.ko lacks a NULL check there: use a fixed module or kernel)" : '';
    return fail(name, `"${l.text}"${ago(sys, l.t)}, in "${frame.text.trim()}"${known}; the module is in an undefined state until a reboot`);
  }
  const note = lockups.length
    ? `; ${lockups.length} soft lockup(s) with an SMB frame, not an oops (a CPU held for 20 s or more: a bug, or a VM its host starved): ${lockups[0]}`
    : '';
  return pass(name, `no Oops, BUG or general protection fault in ksmbd/cifs since boot (${lines.length} SMB/RDMA log lines read)${note}`);
}

export function verifyChecks(sys: SystemFacts, vars: Vars, role: Role, mode: RdmaMode, host?: string): Check[] {
  const s = kernelSupport(sys, role, mode);
  const roleChecks = role === 'server' ? serverChecks(sys, mode, s) : clientChecks(sys, vars, s, host);
  return [kernelCheck(sys, s), ...linkChecks(sys, vars, mode, s), ...roleChecks, oopsCheck(sys)];
}

/** The host's kernel, SMB/RDMA modules (where modinfo found them) and ksmbd-tools, for the cluster report. */
export function hostInfoOf(sys: SystemFacts, role: Role): HostInfo {
  const state = (m: SystemFacts['modules']['modules'][keyof SystemFacts['modules']['modules']]): ModuleInfo['state'] =>
    m.loaded ? 'loaded' : m.builtin ? 'built-in' : m.available ? 'available' : m.available === null ? 'unknown' : 'missing';
  const modules = Object.entries(sys.modules.modules).map(([name, m]) => ({ name, state: state(m), ...(m.path && { path: m.path }) }));
  const tools = ksmbdToolsInstalled(sys);
  return { kernel: sys.kernel.release, kernelVersion: sys.kernel.version, roles: [role], modules, ...(tools && { ksmbdTools: tools.version }) };
}

/** Aligned columns, one row per check. */
export function checksTable(title: string, checks: Check[]): string {
  const w = Math.max('CHECK'.length, ...checks.map((c) => c.name.length));
  const row = (a: string, b: string, c: string) => `${a.padEnd(w)}  ${b.padEnd(6)}  ${c}`.trimEnd();
  return [title, row('CHECK', 'RESULT', 'DETAIL'), ...checks.map((c) => row(c.name, c.status, c.detail))].join('\n');
}
