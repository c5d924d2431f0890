// Verify results as the engine hands them to the reporters, shaped like the lab's (no RDMA there):
// a server, a failing client, a passing client and an unreachable one.
import type { Check, CheckStatus, HostInfo, ProbeMeasure, TaskResult } from '../../src/types.js';

export const TASK = 'smbdirect: verify';

export function hostInfo(roles: string[]): HostInfo {
  return {
    kernel: '6.1.0-26-amd64',
    kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)',
    roles,
    modules: [
      { name: 'cifs', state: 'loaded', path: '/lib/modules/6.1.0-26-amd64/kernel/fs/smb/client/cifs.ko' },
      { name: 'ksmbd', state: 'available', path: '/lib/modules/6.1.0-26-amd64/updates/ksmbd.ko' },
      { name: 'siw', state: 'missing' },
    ],
    ...(roles.includes('server') && { ksmbdTools: '3.4.7-1' }),
  };
}

export function verifyResult(host: string, checks: Check[], roles = ['client']): TaskResult {
  const failed = checks.filter((c) => c.status === 'FAIL').length;
  return { host, task: TASK, status: failed ? 'failed' : 'ok', msg: `${failed} of ${checks.length} checks failed`, checks, hostInfo: hostInfo(roles) };
}

const c = (name: string, status: CheckStatus, detail: string): Check => ({ name, status, detail });

const NO_LINK = 'no RDMA link siw0: run the rdma-link task, or systemctl start smbdirect-rdma-siw0.service';
/** The checks every role has: kernel options, the link and its boot unit (failing when `link` is false), and the oops check last. */
const common = (kernel: string, link: boolean, own: Check[]): Check[] => [
  c('kernel options', 'PASS', kernel),
  link ? c('RDMA link', 'PASS', 'siw0 (iwarp) on eth1, ACTIVE') : c('RDMA link', 'FAIL', NO_LINK),
  link ? c('RDMA link at boot', 'PASS', 'enabled') : c('RDMA link at boot', 'FAIL', 'smbdirect-rdma-siw0.service is not installed'),
  ...own,
  c('no ksmbd/cifs oops', 'PASS', 'no Oops'),
];

export function clusterResults(): TaskResult[] {
  return [
    { host: 'srv01', task: 'Gathering Facts', status: 'ok', msg: '' },
    verifyResult('srv01', common('SMB_SERVER, SMB_SERVER_SMBDIRECT', false, [
      c('ksmbd running', 'FAIL', 'ksmbd.service is not installed (journalctl -u ksmbd)'),
      c('listening TCP 445', 'FAIL', 'ksmbd.service is not installed (journalctl -u ksmbd)'),
      c('listening TCP 5445', 'SKIP', 'no iWARP device'),
    ]), ['server']),
    verifyResult('cli01', common('CIFS, CIFS_SMB_DIRECT', false, [
      c('mount /mnt/data', 'FAIL', 'not mounted'),
      c('dmesg /mnt/data', 'FAIL', 'no "RDMA transport established" since "CIFS: Attempting to mount //srv01/data"'),
      c('cifs DebugData SMBDirect', 'FAIL', 'no SMBDirect connection (the mounts use TCP)'),
    ])),
    verifyResult('cli02', common('CIFS, CIFS_SMB_DIRECT', true, [
      c('mount /mnt/data', 'PASS', '//srv01/data vers=3.1.1,rdma'),
      c('dmesg /mnt/data', 'PASS', '"CIFS: VFS: RDMA transport established"'),
      c('cifs DebugData SMBDirect', 'PASS', '1 of 1 connected'),
    ])),
    { host: 'cli03', task: 'Gathering Facts', status: 'unreachable', msg: 'ssh: connect timed out' },
  ];
}

/** A probe result of one client mount, read and write alike (the chart shows read MB/s). */
export const measure = (host: string, path: string, rdma: number, tcp: number): ProbeMeasure => ({
  host, path, server: 'srv01', share: 'data', sizeMiB: 64, tool: 'dd',
  rdma: { writeMBps: rdma, readMBps: rdma }, tcp: { writeMBps: tcp, readMBps: tcp }, ratio: Number((rdma / tcp).toFixed(2)),
});
