// The cluster report's data: every host's verify checks, kernel and modules, and probe results,
// collected from the same TaskResults the text and JSON reporters read. The terminal matrix
// (report-matrix.ts) and the HTML page (report-html.ts) render it; neither looks at a host.
import type { Check, CheckStatus, HostInfo, ProbeMeasure, ServerProbeMeasure, TaskResult } from '../types.js';

export interface HostRow {
  host: string;
  checks: Check[];
  info?: HostInfo;
  probe: ProbeMeasure[];
  /** Why the host has no checks: its first unreachable or failed result (e.g. facts unreachable). */
  problem?: string;
}

export interface ClusterReport {
  hosts: HostRow[];
  /** Every check name, in the hosts' order (mergeOrder): the matrix's columns. */
  columns: string[];
  /** The servers' CPU during the client probes, matched to them by probe ID (probeRows). */
  serverProbe: ServerProbeMeasure[];
}

/** One failing check, and every host where it failed with the same detail. */
export interface FailureGroup { hosts: string[]; check: string; detail: string }

const RANK: Record<CheckStatus, number> = { PASS: 0, SKIP: 1, FAIL: 2 };

export class ReportCollector {
  private rows = new Map<string, HostRow>();
  private serverProbe: ServerProbeMeasure[] = [];

  add(r: TaskResult): void {
    const row = this.rows.get(r.host) ?? { host: r.host, checks: [], probe: [] };
    this.rows.set(r.host, row);
    row.checks.push(...(r.checks ?? []));
    row.probe.push(...(r.probe ?? []));
    this.serverProbe.push(...(r.serverProbe ?? []));
    if (r.hostInfo) row.info = row.info ? { ...r.hostInfo, roles: [...new Set([...row.info.roles, ...r.hostInfo.roles])] } : r.hostInfo;
    if (!row.problem && (r.status === 'unreachable' || r.status === 'failed')) row.problem = `${r.status}: ${r.msg}`;
  }

  /** Nothing to show: no host returned checks or probe results (not a verify or probe run). */
  get empty(): boolean {
    return !this.serverProbe.length && ![...this.rows.values()].some((r) => r.checks.length || r.probe.length);
  }

  report(): ClusterReport {
    const hosts = [...this.rows.values()].filter((r) => r.checks.length || r.probe.length || r.problem);
    return { hosts, columns: mergeOrder(hosts.map((h) => h.checks.map((c) => c.name))), serverProbe: this.serverProbe };
  }
}

/** Every name once, each new one placed right after the name before it in its own list, so that the
 * checks all hosts share keep their place (the oops check stays last after the role's own checks). */
export function mergeOrder(lists: string[][]): string[] {
  const out: string[] = [];
  for (const list of lists) {
    list.forEach((name, i) => {
      if (out.includes(name)) return;
      out.splice(i === 0 ? 0 : out.indexOf(list[i - 1]!) + 1, 0, name);
    });
  }
  return out;
}

/** The host's result for a column: the worst of its checks of that name (a host in both roles has two). */
export function cell(row: HostRow, column: string): CheckStatus | undefined {
  return row.checks.filter((c) => c.name === column).reduce<CheckStatus | undefined>((w, c) => (!w || RANK[c.status] > RANK[w] ? c.status : w), undefined);
}

/** "A".."Z", "AA".."ZZ": the matrix's short column headers. */
export function columnCode(i: number): string {
  const letter = (n: number) => String.fromCharCode(65 + n);
  return i < 26 ? letter(i) : letter(Math.floor(i / 26) - 1) + letter(i % 26);
}

/** The failed checks, the same check with the same detail on several hosts as one group, in order of first failure. */
export function failureGroups(report: ClusterReport): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const row of report.hosts) {
    const failed = row.checks.filter((c) => c.status === 'FAIL');
    const items = failed.length || row.checks.length || !row.problem ? failed : [{ name: 'not verified', detail: row.problem }];
    for (const c of items) {
      const key = JSON.stringify([c.name, c.detail]);
      const g = groups.get(key) ?? { hosts: [], check: c.name, detail: c.detail };
      groups.set(key, g);
      if (!g.hosts.includes(row.host)) g.hosts.push(row.host);
    }
  }
  return [...groups.values()];
}

/** CPU seconds over a transport's write + read; undefined where not read. */
export interface CpuPair { rdma?: number; tcp?: number }

/** One bar pair of the probe chart: a client mount's read throughput, RDMA against TCP, and the CPU both hosts spent. */
export interface ProbeBar {
  host: string; mount: string; source: string; rdmaMBps: number; tcpMBps: number; ratio: number;
  clientCpu: CpuPair;
  /** The server's, from its sampler (matched by probe ID); `concurrent` client probes shared it. */
  serverCpu?: CpuPair & { concurrent: number };
}

function serverCpu(report: ClusterReport, p: ProbeMeasure): ProbeBar['serverCpu'] {
  const s = p.id === undefined ? undefined : report.serverProbe.find((x) => x.id === p.id && x.server === p.server);
  return s && { rdma: s.rdma?.cpuSeconds, tcp: s.tcp?.cpuSeconds, concurrent: s.concurrent };
}

/** Every probe result with its client (read MB/s: what the ratio compares). */
export const probeRows = (report: ClusterReport): ProbeBar[] =>
  report.hosts.flatMap((h) => h.probe.map((p) => {
    const server = serverCpu(report, p);
    return {
      host: h.host, mount: p.path, source: `//${p.server}/${p.share}`, rdmaMBps: p.rdma.readMBps, tcpMBps: p.tcp.readMBps, ratio: p.ratio,
      clientCpu: { rdma: p.rdma.cpuSeconds, tcp: p.tcp.cpuSeconds }, ...(server ? { serverCpu: server } : {}),
    };
  }));
