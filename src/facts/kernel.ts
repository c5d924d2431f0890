// The running kernel: release (parsed to numbers so it can be compared with 5.15), version, arch.
import type { Fact } from './fact.js';

export interface KernelFacts {
  /** `uname -r`, e.g. "6.1.0-26-amd64". */
  release: string;
  /** `uname -v`, e.g. "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)". */
  version: string;
  /** `uname -m`, e.g. "x86_64". */
  arch: string;
  major: number | null;
  minor: number | null;
  patch: number | null;
}

export const kernel: Fact<KernelFacts> = {
  name: 'kernel',
  // /proc/sys/kernel holds what uname prints (kernel.arch since Linux 6.1): read by builtins.
  script: `sec kernel; echo "$KR"
rl /proc/sys/kernel/version && echo "$RL" || uname -v
rl /proc/sys/kernel/arch && echo "$RL" || uname -m`,
  parse(s) {
    const [release = '', version = '', arch = ''] = s.lines('kernel');
    const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
    const n = (i: number): number | null => (m?.[i] === undefined ? null : Number(m[i]));
    return { release, version, arch, major: n(1), minor: n(2), patch: m ? (n(3) ?? 0) : null };
  },
};

/** True when the kernel release is at least MAJOR.MINOR (false when it could not be read). */
export function kernelAtLeast(k: KernelFacts, major: number, minor: number): boolean {
  if (k.major === null || k.minor === null) return false;
  return k.major > major || (k.major === major && k.minor >= minor);
}
