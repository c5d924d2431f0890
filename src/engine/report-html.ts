// `run --report FILE.html`: the cluster report as ONE self-contained page (inline CSS and SVG, no
// script, no external asset): the matrix, each failure with its diagnosis, every host's kernel and
// modules, and the probe's RDMA/TCP throughput per client mount. Every string is redacted, then
// escaped (in that order: an escaped secret would no longer match); the file is written atomically.
import { accessSync, constants, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { redact, redactValue } from '../secrets.js';
import { cell, columnCode, failureGroups, probeRows, type ClusterReport, type CpuPair, type ProbeBar } from './cluster-report.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text or attribute value, escaped for HTML. */
export const esc = (s: string | number): string => String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]!);

const SYMBOL = { PASS: '✓', FAIL: '✗', SKIP: '–' } as const;

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
table.matrix td.c{text-align:center;width:1.6em}td.PASS{background:#e6f4e6;color:#1a7f1a}
td.FAIL{background:#fbe4e4;color:#b00020;font-weight:bold}td.SKIP{background:#eef3f8;color:#56708a}
code,.mono{font-family:ui-monospace,monospace;font-size:.92em}.mono{white-space:nowrap}.failures li{margin:.3em 0}
.mods span{display:inline-block;margin-right:1.2em}
svg text{font:12px system-ui,sans-serif}.rdma{fill:#2b7bb9}.tcp{fill:#b0b0b0}`;

function matrix(r: ClusterReport): string {
  const head = r.columns.map((c, i) => `<th class="c" title="${esc(c)}">${columnCode(i)}</th>`).join('');
  const rows = r.hosts.map((h) => {
    const cells = r.columns.map((c) => {
      const s = cell(h, c);
      return s ? `<td class="c ${s}" data-check="${esc(c)}" title="${esc(`${c}: ${s}`)}">${SYMBOL[s]}</td>` : `<td class="c" data-check="${esc(c)}"></td>`;
    }).join('');
    const failed = h.checks.filter((c) => c.status === 'FAIL').length;
    const result = h.checks.length ? (failed ? `${failed} failed` : 'ok') : esc(h.problem ?? 'no checks');
    return `<tr data-host="${esc(h.host)}"><th>${esc(h.host)}</th>${cells}<td>${result}</td></tr>`;
  }).join('\n');
  const legend = r.columns.map((c, i) => `<li><b>${columnCode(i)}</b> ${esc(c)}</li>`).join('');
  return `<table class="matrix"><thead><tr><th>host</th>${head}<th>result</th></tr></thead><tbody>\n${rows}\n</tbody></table>
<p>${SYMBOL.PASS} pass &nbsp; ${SYMBOL.FAIL} fail &nbsp; ${SYMBOL.SKIP} skip &nbsp; (empty) not checked on that host</p><ul class="legend">${legend}</ul>`;
}

function failures(r: ClusterReport): string {
  const groups = failureGroups(r);
  if (!groups.length) return '<p class="no-failures">no check failed</p>';
  const items = groups.map((g) => `<li data-check="${esc(g.check)}" data-hosts="${esc(g.hosts.join(' '))}"><b>${esc(g.hosts.join(', '))}</b>: ${esc(g.check)}: <span class="detail">${esc(g.detail)}</span></li>`);
  return `<ul class="failures">${items.join('\n')}</ul>`;
}

function hosts(r: ClusterReport): string {
  const rows = r.hosts.filter((h) => h.info).map((h) => {
    const i = h.info!;
    const mods = i.modules.map((m) => `<span>${esc(m.name)}: ${esc(m.state)}${m.path ? ` <code>${esc(m.path)}</code>` : ''}</span>`).join(' ');
    return `<tr data-host="${esc(h.host)}"><th>${esc(h.host)}</th><td>${esc(i.roles.join(', '))}</td><td class="mono">${esc(i.kernel)}</td><td class="mono">${esc(i.kernelVersion ?? '')}</td><td>${esc(i.ksmbdTools ?? '')}</td><td class="mods">${mods}</td></tr>`;
  });
  if (!rows.length) return '<p>no host facts in this run</p>';
  return `<table class="hosts"><thead><tr><th>host</th><th>roles</th><th>kernel</th><th>uname -v</th><th>ksmbd-tools</th><th>modules</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

const seconds = (c: CpuPair | undefined): string => [c?.rdma, c?.tcp].map((v) => (v === undefined ? '-' : v.toFixed(2))).join('/');

/** The CPU line under a bar pair: client and server seconds, RDMA/TCP, "-" where not read. */
export function cpuText(p: ProbeBar): string {
  const shared = p.serverCpu && p.serverCpu.concurrent > 1 ? ` (host-wide: ${p.serverCpu.concurrent} clients probed at once)` : '';
  return `CPU s RDMA/TCP: client ${seconds(p.clientCpu)}, server ${seconds(p.serverCpu)}${shared}`;
}

/** Horizontal bars, RDMA over TCP, per client mount, scaled to the fastest. */
function probeChart(r: ClusterReport): string {
  const rows = probeRows(r);
  if (!rows.length) return '<p class="no-probe">no probe results in this run</p>';
  const [label, bar, rowH] = [260, 380, 60];
  const max = Math.max(1, ...rows.flatMap((p) => [p.rdmaMBps, p.tcpMBps]));
  const len = (v: number) => Math.max(1, Math.round((v / max) * bar));
  const groups = rows.map((p, i) => {
    const y = 10 + i * rowH;
    const data = `data-host="${esc(p.host)}" data-mount="${esc(p.mount)}"`;
    return `<g class="probe-row" ${data}><text x="0" y="${y + 16}">${esc(`${p.host}:${p.mount}`)}</text>
<rect class="bar rdma" ${data} data-mbps="${esc(p.rdmaMBps)}" x="${label}" y="${y}" width="${len(p.rdmaMBps)}" height="16"/><text x="${label + len(p.rdmaMBps) + 4}" y="${y + 12}">RDMA ${esc(p.rdmaMBps)} MB/s (×${esc(p.ratio.toFixed(2))})</text>
<rect class="bar tcp" ${data} data-mbps="${esc(p.tcpMBps)}" x="${label}" y="${y + 18}" width="${len(p.tcpMBps)}" height="16"/><text x="${label + len(p.tcpMBps) + 4}" y="${y + 30}">TCP ${esc(p.tcpMBps)} MB/s</text>
<text class="cpu" ${data} x="${label}" y="${y + 48}">${esc(cpuText(p))}</text></g>`;
  });
  const h = 20 + rows.length * rowH;
  return `<svg class="probe" xmlns="http://www.w3.org/2000/svg" width="${label + bar + 220}" height="${h}" viewBox="0 0 ${label + bar + 220} ${h}" role="img" aria-label="probe throughput, RDMA against TCP">
${groups.join('\n')}</svg>`;
}

/** The whole page. Deterministic: no timestamp, hosts and checks in run order. */
export function renderHtml(report: ClusterReport, title = 'SMB Direct cluster report'): string {
  const r = redactValue(report) as ClusterReport;
  const failing = r.hosts.filter((h) => h.checks.some((c) => c.status === 'FAIL') || (!h.checks.length && h.problem)).length;
  const page = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1>
<p class="summary">${r.hosts.length} hosts, ${failing} with failures, ${r.columns.length} checks</p>
<h2 id="matrix">Checks</h2>
${matrix(r)}
<h2 id="failures">Failures</h2>
${failures(r)}
<h2 id="hosts">Kernels and modules</h2>
${hosts(r)}
<h2 id="probe">Probe throughput (MB/s, RDMA against TCP)</h2>
${probeChart(r)}
</body></html>
`;
  return redact(page);
}

/** A --report path the run can write, checked before any host is contacted; the message says why not. */
export function reportPathProblem(path: string): string | undefined {
  const full = resolve(path);
  const dir = dirname(full);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    accessSync(dir, constants.W_OK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? `directory ${dir} does not exist` : `cannot write in ${dir}: ${(e as Error).message}`;
  }
  try {
    if (statSync(full).isDirectory()) return `${full} is a directory`;
  } catch { /* absent: will be created */ }
  return undefined;
}

/** Writes the page to a temp file beside the target, then renames it into place. */
export function writeReport(path: string, html: string): void {
  const full = resolve(path);
  const temp = join(dirname(full), `.${basename(full)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, html, { mode: 0o644 });
    renameSync(temp, full);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}
