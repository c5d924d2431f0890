// Figures -> a console table, docs/benchmarks.md and docs/benchmarks.svg (a line chart drawn
// here, no dependency). Results of every size ever measured are kept in docs/benchmarks.json,
// so a run at one size (e.g. `--hosts 50 --runs 1`) updates only that size's rows.

import os from 'node:os';
import type { StartupResult } from './startup.js';
import { startupTable } from './startup.js';
import type { Tool } from './tools.js';

export const TOOLS: Tool[] = ['smbdirect', 'ansible', 'floor', 'floor-facts'];
export type Phase = 'first' | 'second';

export interface Figure {
  /** medians */
  wallMs: number;
  cpuMs: number;
  peakRssKb: number;
  samplesWallMs: number[];
  /** SSH round trips per host: min and max over hosts (of the last run) */
  rtMin: number;
  rtMax: number;
  changed: number;
}

export interface SizeResult {
  n: number;
  servers: number;
  clients: number;
  runs: Record<Tool, number>;
  date: string;
  machine: string;
  /** 1-minute load average of the machine when this size started (other jobs share the cores) */
  load?: number;
  /**
   * Share of the machine's CPU time that was busy over the 2 s before this size started, in %:
   * what the machine was doing then (the load average trails the previous size's lab teardown).
   */
  busyPct?: number;
  cpuSource: string;
  figures: Partial<Record<Tool, Record<Phase, Figure>>>;
  /** per tool: managed paths whose end state differs from smbdirect's (first run, first rep) */
  endState: Partial<Record<Tool, string[]>>;
  /** smbdirect round trips per play and host (from the playbook's plays: max over hosts) */
  managedPaths: number;
  problems: string[];
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export function machine(): string {
  const cpus = os.cpus();
  return `${os.type()} ${os.release()}, ${cpus.length} x ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
}

const s = (ms: number): string => (Number.isFinite(ms) ? (ms >= 100_000 ? (ms / 1000).toFixed(0) : (ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)) : '-');
const mb = (kb: number): string => (kb > 0 ? (kb / 1024).toFixed(0) : '-');
const x = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `${(b / a).toFixed(1)}x` : '-');
const rt = (f: Figure): string => (f.rtMin === f.rtMax ? `${f.rtMin}` : `${f.rtMin}-${f.rtMax}`);

/** Rows: one per size, tool and phase. */
export function table(results: SizeResult[]): string[][] {
  const rows: string[][] = [['hosts', 'tool', 'run', 'runs', 'wall s', 'CPU s', 'peak RSS MB', 'round trips/host', 'changes']];
  for (const r of results) {
    for (const tool of TOOLS) {
      for (const phase of ['first', 'second'] as Phase[]) {
        const f = r.figures[tool]?.[phase];
        if (!f) continue;
        rows.push([String(r.n), tool, phase === 'first' ? 'first (changes)' : 'second (no change)', String(r.runs[tool]),
          s(f.wallMs), s(f.cpuMs), tool.startsWith('floor') ? '-' : mb(f.peakRssKb), rt(f), String(f.changed)]);
      }
    }
  }
  return rows;
}

export function ratioRows(results: SizeResult[]): string[][] {
  const rows: string[][] = [['hosts', 'run', 'Ansible / smbdirect (wall)', 'smbdirect / floor (wall)', 'smbdirect / floor+facts (wall)', 'Ansible / smbdirect (CPU)', 'smbdirect / floor (CPU)']];
  for (const r of results) {
    for (const phase of ['first', 'second'] as Phase[]) {
      const sd = r.figures.smbdirect?.[phase];
      const an = r.figures.ansible?.[phase];
      const fl = r.figures.floor?.[phase];
      const ff = r.figures['floor-facts']?.[phase];
      if (!sd) continue;
      rows.push([String(r.n), phase, an ? x(sd.wallMs, an.wallMs) : '-', fl ? x(fl.wallMs, sd.wallMs) : '-', ff ? x(ff.wallMs, sd.wallMs) : '-',
        an ? x(sd.cpuMs, an.cpuMs) : '-', fl ? x(fl.cpuMs, sd.cpuMs) : '-']);
    }
  }
  return rows;
}

export function textTable(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

export function mdTable(rows: string[][]): string {
  const [head, ...body] = rows;
  return [`| ${head!.join(' | ')} |`, `|${head!.map((_, i) => (i < 3 ? '---' : '--:')).join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface Target { what: string; verdict: string }

export function targets(results: SizeResult[]): Target[] {
  const at = (n: number) => results.find((r) => r.n === n);
  const out: Target[] = [];
  const r50 = at(50);
  const ratio = (r: SizeResult | undefined, tool: Tool, phase: Phase): number | undefined => {
    const a = r?.figures[tool]?.[phase];
    const b = r?.figures.smbdirect?.[phase];
    return a && b ? a.wallMs / b.wallMs : undefined;
  };
  const v = (ok: boolean | undefined, detail: string): string => (ok === undefined ? `not measured` : `${ok ? 'MET' : 'MISSED'} (${detail})`);
  const a2 = ratio(r50, 'ansible', 'second');
  out.push({ what: '50 hosts, no-change run >= 20x faster than Ansible', verdict: v(a2 === undefined ? undefined : a2 >= 20, `${a2?.toFixed(1)}x`) });
  const f2 = ratio(r50, 'floor', 'second');
  out.push({ what: '50 hosts, no-change run within 1.5x of the floor', verdict: v(f2 === undefined ? undefined : 1 / f2 <= 1.5, `${f2 ? (1 / f2).toFixed(2) : '?'}x the floor`) });
  const a1 = ratio(r50, 'ansible', 'first');
  out.push({ what: '50 hosts, first run >= 10x faster than Ansible', verdict: v(a1 === undefined ? undefined : a1 >= 10, `${a1?.toFixed(1)}x`) });
  const sd = results.filter((r) => r.figures.smbdirect);
  const rtOk = sd.every((r) => (r.figures.smbdirect!.first.rtMax <= 3 * playsPerHost) && r.figures.smbdirect!.second.rtMax <= playsPerHost);
  out.push({
    what: 'facts in one round trip and apply in at most two, per host and play',
    verdict: sd.length === 0 ? 'not measured' : `${rtOk ? 'MET' : 'MISSED'} (each host is in ${playsPerHost} plays of site: first run <= ${3 * playsPerHost}, measured max ${Math.max(...sd.map((r) => r.figures.smbdirect!.first.rtMax))}; no-change run <= ${playsPerHost}, measured max ${Math.max(...sd.map((r) => r.figures.smbdirect!.second.rtMax))})`,
  });
  // #14: against the floor in the same run, no-change at 1, 10, 50 and 200 hosts, first run at every size.
  const noChange: Array<[number, number]> = [[1, 1.5], [10, 1.1], [50, 1.0], [200, 1.0]];
  for (const [n, limit] of noChange) {
    const f = ratio(at(n), 'floor', 'second');
    if (f !== undefined || at(n)) out.push({ what: `${n} host${n > 1 ? 's' : ''}, no-change run within ${limit.toFixed(1)}x of the floor`, verdict: v(f === undefined ? undefined : 1 / f <= limit, `${f ? (1 / f).toFixed(2) : '?'}x the floor`) });
  }
  const firsts = sd.map((r) => [r.n, ratio(r, 'floor', 'first')] as const).filter((e): e is readonly [number, number] => e[1] !== undefined);
  if (firsts.length) out.push({ what: 'first run within 1.3x of the floor at every size', verdict: v(firsts.every(([, f]) => 1 / f <= 1.3), firsts.map(([n, f]) => `${n}: ${(1 / f).toFixed(2)}x`).join(', ')) });
  const r200 = at(200);
  const rss = r200?.figures.smbdirect ? Math.max(r200.figures.smbdirect.first.peakRssKb, r200.figures.smbdirect.second.peakRssKb) / 1024 : undefined;
  const biggest = sd.at(-1);
  const rssAny = biggest ? Math.max(biggest.figures.smbdirect!.first.peakRssKb, biggest.figures.smbdirect!.second.peakRssKb) / 1024 : undefined;
  out.push({
    what: 'peak RSS < 200 MB at 200 hosts',
    verdict: rss !== undefined ? v(rss < 200, `${rss.toFixed(0)} MB`) : `not measured at 200 (${biggest ? `${rssAny!.toFixed(0)} MB at ${biggest.n} hosts` : 'no data'}; run with --max)`,
  });
  return out;
}

/** site: every host is in its role's play and in its role's verify play. */
export const playsPerHost = 2;

/** The start-up table, measured on its own (bench/startup.ts); it goes where analysis.md has STARTUP_MARK. */
const STARTUP_MARK = '<!-- start-up table -->';
function startupMd(r: StartupResult | undefined): string {
  return r ? `Measured ${r.date}, load ${r.load.toFixed(2)} (1-minute average):\n\n${mdTable(startupTable(r))}` : '(no start-up measurement yet: `node dist/bench/run.js --startup-only`)';
}

export function markdown(results: SizeResult[], notes: string[], analysis = '', startup?: StartupResult): string {
  analysis = analysis.includes(STARTUP_MARK)
    ? analysis.replace(STARTUP_MARK, startupMd(startup))
    : `${analysis}${startup ? `\n\n## Start-up\n\n${startupMd(startup)}\n` : ''}`;
  const last = results.reduce((a, r) => (r.date > a ? r.date : a), '');
  const svgNote = results.length > 1 ? '![wall time vs hosts](benchmarks.svg)\n' : '';
  const loads = results.map((r) => `${r.n} hosts: ${r.date}, ${r.busyPct !== undefined ? `CPU ${r.busyPct.toFixed(0)}% busy, ` : ''}load ${r.load?.toFixed(1) ?? '?'}`).join('; ');
  const state = results.map((r) => `- ${r.n} hosts (${r.servers} servers, ${r.clients} clients, ${r.managedPaths} managed paths): ` +
    TOOLS.filter((t) => t !== 'smbdirect' && r.endState[t]).map((t) => `${t}: ${r.endState[t]!.length === 0 ? 'identical to smbdirect' : `differs on ${r.endState[t]!.slice(0, 5).join(', ')}${r.endState[t]!.length > 5 ? ', ...' : ''}`}`).join('; ')).join('\n');
  const problems = [...new Set(results.flatMap((r) => r.problems.map((p) => `- ${r.n} hosts: ${p.split('\n')[0]}`)))];
  return `# Benchmarks: smbdirect vs tuned Ansible vs the plain-SSH floor

Generated by \`npm run bench\` (bench/run.ts); last run ${last}.
Machine: ${results.at(-1)?.machine ?? machine()}. Lab: one real sshd per host in its own network
namespace on this machine (docs lab notes, part A), 20% servers, 80% clients. The hosts' sshd run on
the same 2 cores as the controller, so wall times include the hosts' own work. When each size was
measured, with the share of the CPU busy over the 2 s before it (when recorded) and the 1-minute load
average then (which trails the previous size's lab teardown): ${loads}.

## What is measured

Each contender brings the same hosts, with the same variables (bench/vars.yml: 3 shares, 2 users
with password files, 3 cifs mounts per client), to the same end state; the hosts are reset between
first runs (the managed files are put back as they were, over plain SSH).

- **smbdirect**: \`smbdirect run site -e smbdirect_kernel_policy=warn --json -f N\` (all plays of site,
  including the read-only verify play, which fails in the lab because its kernel has no SMB
  Direct: that failure is expected and ignored).
- **Ansible**: Debian's ansible-core 2.14, bench/ansible/site.yml (same files: ksmbd.conf from a
  template, ksmbdpwd.db, system users, share dirs, RDMA unit + enable symlink, modules-load.d,
  credentials, fstab lines via ansible.posix.mount state=present), tuned: forks = N, pipelining,
  ControlPersist (control masters cold at each run: a fresh ControlPath dir), no fact gathering
  (nothing needs facts), interpreter set (no discovery), transfer_method piped,
  curve25519 key exchange, host keys checked against the lab's known_hosts.
- **floor**: every host at once, one \`ssh HOST 'sh -s' < script\` each (bench/floor/: lib.sh +
  one line per managed path). One \`stat\` and one \`sha1sum\` cover every managed path, compared
  with the expected state by the shell itself; only what differs is written (temp file, rename)
  or fixed (chown/chmod). Scripts are derived from smbdirect's end state, so it is the least any
  tool can do over SSH: one connection per host, no planning, no facts beyond the files.
- **floor-facts**: the floor, each host's script preceded by the system facts script a no-change
  smbdirect run sends (src/facts: kernel, modules, RDMA, network, packages, services, ports, mounts,
  dmesg, firewall...; the kernel config answered from the controller's cache, as smbdirect's is),
  its output sent back. \`site\`'s verify play reads those facts on every host, so this is the least
  the same host work costs over plain SSH: smbdirect / floor-facts is what smbdirect's engine
  (node, ssh2, planning, output) adds to it.
- **first** = on reset hosts (changes), **second** = the same again (no change).

Metrics: **wall** time of the command; **CPU** = user+sys of the controller's whole process tree
(${results.at(-1)?.cpuSource === 'cgroup' ? 'the command runs in its own cgroup, so forks, ssh clients and ControlPersist masters that outlive Ansible are all counted' : 'getrusage of waited-for children'});
**peak RSS** = VmHWM of the main process (node for smbdirect, ansible-playbook's python for Ansible;
the floor has no main process worth reporting: N ssh clients of ~6 MB each);
**round trips/host** = SSH sessions opened per host: smbdirect's own count (\`--json\` stats),
Ansible's counted by an ssh wrapper (bench/ansible/ssh-count.sh, set as ssh_executable: one line
per ssh invocation, i.e. per module run or file transfer over the control master), the floor's is 1
by construction. Figures are medians over the runs shown.

${svgNote}
## Results

${mdTable(table(results))}

## Ratios (medians)

${mdTable(ratioRows(results))}

## Targets

${targets(results).map((t) => `- ${t.what}: **${t.verdict}**`).join('\n')}

## End state

Managed paths of each host (what smbdirect's first run changed) compared after the other tools'
first runs:

${state}
${analysis ? `\n${analysis.trim()}\n` : ''}${problems.length ? `\n## Problems seen\n\n${problems.join('\n')}\n` : ''}${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}
## Running it

\`\`\`
npx tsc -p . && npm run bench                 # N = 1, 10, 50; 3 runs each (root; brings up its own lab)
node dist/bench/run.js --hosts 10 --quick     # one size, 1 run
node dist/bench/run.js --ansible-runs 1       # 3 runs, Ansible once (at 50 hosts it takes minutes per run)
node dist/bench/run.js --max                  # adds N = 200 (memory permitting)
\`\`\`

Options: \`--hosts N[,N...]\`, \`--runs K\`, \`--ansible-runs K\`, \`--quick\` (1 run), \`--max\`, \`--no-ansible\`,
\`--keep-lab\`, \`--state-dir DIR\` (default /var/lib/smbdirect-provision/bench-lab),
\`--no-docs\` (print only), \`--startup-runs K\` (runs of each start-up row, default 10; 0: none),
\`--startup-only\` (the start-up rows alone, no lab). Installs Debian's \`ansible\` with apt-get when ansible-playbook is missing.
`;
}

const COLORS: Record<Tool, string> = { smbdirect: '#1f77b4', ansible: '#d62728', floor: '#2ca02c', 'floor-facts': '#9467bd' };

/** Wall time vs hosts, both runs, log-scale y (Ansible and the floor are 1-2 orders apart). */
export function svg(results: SizeResult[]): string {
  const W = 640, H = 400, L = 70, R = 150, T = 40, B = 50;
  const pts = results.filter((r) => r.figures.smbdirect).sort((a, b) => a.n - b.n);
  const ns = pts.map((r) => r.n);
  const vals = pts.flatMap((r) => TOOLS.flatMap((t) => (['first', 'second'] as Phase[]).map((p) => r.figures[t]?.[p]?.wallMs ?? NaN))).filter(Number.isFinite);
  const lo = Math.floor(Math.log10(Math.max(Math.min(...vals, 1000), 1) / 1000));
  const hi = Math.ceil(Math.log10(Math.max(...vals, 1000) / 1000));
  const xs = (n: number): number => {
    const a = Math.log10(Math.max(ns[0] ?? 1, 1)), b = Math.log10(Math.max(ns.at(-1) ?? 10, 2));
    return L + (b === a ? 0.5 : (Math.log10(n) - a) / (b - a)) * (W - L - R);
  };
  const ys = (ms: number): number => T + (1 - (Math.log10(ms / 1000) - lo) / Math.max(hi - lo, 1)) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">Wall time vs hosts (log-log; solid: first run, dashed: no-change run)</text>`);
  for (let e = lo; e <= hi; e++) {
    const y = ys(1000 * 10 ** e);
    out.push(`<line x1="${L}" y1="${y.toFixed(1)}" x2="${W - R}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} s</text>`);
  }
  for (const n of ns) {
    const xx = xs(n);
    out.push(`<line x1="${xx.toFixed(1)}" y1="${T}" x2="${xx.toFixed(1)}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${xx.toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${n}</text>`);
  }
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">hosts</text>`);
  let ly = T + 10;
  for (const t of TOOLS) {
    for (const p of ['first', 'second'] as Phase[]) {
      const line = pts.flatMap((r) => { const f = r.figures[t]?.[p]; return f && Number.isFinite(f.wallMs) ? [[xs(r.n), ys(f.wallMs)] as const] : []; });
      if (line.length === 0) continue;
      const dash = p === 'second' ? ' stroke-dasharray="6 4"' : '';
      out.push(`<polyline fill="none" stroke="${COLORS[t]}" stroke-width="2"${dash} points="${line.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
      for (const [a, b] of line) out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3" fill="${COLORS[t]}"/>`);
      out.push(`<line x1="${W - R + 12}" y1="${ly}" x2="${W - R + 40}" y2="${ly}" stroke="${COLORS[t]}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${W - R + 46}" y="${ly + 4}">${t} ${p === 'first' ? 'first' : 'no-change'}</text>`);
      ly += 18;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
