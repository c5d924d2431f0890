// Kernel options SMB Direct needs per role, and a config fragment for
// scripts/kconfig/merge_config.sh. Kconfig (fs/smb/server/Kconfig, fs/smb/client/Kconfig):
// SMB_SERVER_SMBDIRECT depends on SMB_SERVER=m && INFINIBAND && INFINIBAND_ADDR_TRANS ||
// SMB_SERVER=y && INFINIBAND=y && INFINIBAND_ADDR_TRANS=y; CIFS_SMB_DIRECT the same with CIFS.
import type { RdmaMode } from './model.js';

export type Role = 'server' | 'client';

export interface KconfigRequirement {
  /** Without "CONFIG_", as in src/facts/kconfig.ts. */
  symbol: string;
  want: 'y' | 'm';
  /** What the host cannot do without it. */
  why: string;
  /** Useful, not required for SMB Direct itself. */
  optional?: boolean;
}

const REQ: Record<string, Omit<KconfigRequirement, 'symbol'>> = {
  INFINIBAND: { want: 'm', why: 'CONFIG_INFINIBAND missing: no RDMA stack at all (ib_core), so no SMB Direct' },
  INFINIBAND_ADDR_TRANS: { want: 'y', why: 'CONFIG_INFINIBAND_ADDR_TRANS missing: no RDMA connection manager (rdma_cm), which SMB Direct connects through' },
  INFINIBAND_USER_ACCESS: { want: 'm', why: 'CONFIG_INFINIBAND_USER_ACCESS missing: user-space RDMA tools (ibv_devices, rping) cannot be used to diagnose the link', optional: true },
  SMBDIRECT: { want: 'm', why: 'CONFIG_SMBDIRECT missing: from 7.1 the RDMA code of cifs and ksmbd is its own module, smbdirect.ko (fs/smb/smbdirect), so neither side has SMB Direct without it' },
  SMB_SERVER: { want: 'm', why: 'CONFIG_SMB_SERVER missing: this host cannot serve SMB at all (no ksmbd module)' },
  SMB_SERVER_SMBDIRECT: { want: 'y', why: 'CONFIG_SMB_SERVER_SMBDIRECT missing: this host can serve SMB, but not over RDMA' },
  CIFS: { want: 'm', why: 'CONFIG_CIFS missing: this host cannot mount SMB shares at all (no cifs module)' },
  CIFS_SMB_DIRECT: { want: 'y', why: 'CONFIG_CIFS_SMB_DIRECT missing: this host can mount SMB shares, not over RDMA' },
  RDMA_SIW: { want: 'm', why: 'CONFIG_RDMA_SIW missing: no soft iWARP (siw), which smbdirect_rdma_mode siw needs' },
  RDMA_RXE: { want: 'm', why: 'CONFIG_RDMA_RXE missing: no soft RoCE (rdma_rxe), which smbdirect_rdma_mode rxe needs' },
};

/** Fragment order: dependencies before the options that need them. */
const ORDER = Object.keys(REQ);

const req = (symbol: string): KconfigRequirement => ({ symbol, ...REQ[symbol]! });

/** Kernels from this release on build SMB Direct as its own module, smbdirect.ko (CONFIG_SMBDIRECT). */
export const SMBDIRECT_MODULE_FROM = { major: 7, minor: 1 } as const;

export const hasSmbdirectModule = (k: { major: number | null; minor: number | null }): boolean =>
  k.major !== null && k.minor !== null && (k.major > SMBDIRECT_MODULE_FROM.major || (k.major === SMBDIRECT_MODULE_FROM.major && k.minor >= SMBDIRECT_MODULE_FROM.minor));

/** The options a host of this role needs for SMB Direct with this RDMA mode (on this kernel: 7.1+ adds SMBDIRECT), dependencies first. */
export function requiredSymbols(role: Role, rdmaMode: RdmaMode, kernel?: { major: number | null; minor: number | null }): KconfigRequirement[] {
  const smb = role === 'server' ? ['SMB_SERVER', 'SMB_SERVER_SMBDIRECT'] : ['CIFS', 'CIFS_SMB_DIRECT'];
  const module = kernel && hasSmbdirectModule(kernel) ? ['SMBDIRECT'] : [];
  const soft = rdmaMode === 'siw' ? ['RDMA_SIW'] : rdmaMode === 'rxe' ? ['RDMA_RXE'] : [];
  return ['INFINIBAND', 'INFINIBAND_ADDR_TRANS', ...module, ...smb, ...soft, 'INFINIBAND_USER_ACCESS'].map(req);
}

/**
 * The requirements `have` does not satisfy ("y"/"m" as read from the running kernel's config).
 * A tristate wanted "m" is satisfied by y or m; a bool wanted "y" only by y. When the SMB module
 * is built in (=y), Kconfig needs INFINIBAND=y too.
 */
export function kconfigGaps(required: KconfigRequirement[], have: Record<string, string | undefined>): KconfigRequirement[] {
  const smb = required.find((r) => r.symbol === 'SMB_SERVER' || r.symbol === 'CIFS')?.symbol;
  const builtIn = smb !== undefined && have[smb] === 'y';
  return required.flatMap((r) => {
    const v = have[r.symbol];
    if (r.symbol === 'INFINIBAND' && builtIn && v === 'm') {
      return [{ ...r, want: 'y' as const, why: `CONFIG_INFINIBAND is a module but CONFIG_${smb} is built in: Kconfig then offers SMB Direct only with INFINIBAND=y` }];
    }
    const ok = r.want === 'y' ? v === 'y' : v === 'y' || v === 'm';
    return ok ? [] : [r];
  });
}

/**
 * A fragment for `scripts/kconfig/merge_config.sh .config FRAGMENT` (then `make olddefconfig`).
 * Entries: requirements, symbol names ("RDMA_SIW", value from the table above) or explicit
 * "CONFIG_X=v" / "X=v" lines. Deduplicated, known symbols in dependency order, others after.
 */
export function kconfigFragment(missing: Array<string | KconfigRequirement>): string {
  const wanted = new Map<string, { value: string; why?: string }>();
  for (const m of missing) {
    const [symbol, value, why] = typeof m === 'string' ? parseEntry(m) : [m.symbol, m.want, m.why];
    wanted.set(symbol, { value, why });
  }
  const rank = (s: string) => (ORDER.includes(s) ? ORDER.indexOf(s) : ORDER.length);
  const symbols = [...wanted.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const body = symbols.flatMap((s) => {
    const { value, why } = wanted.get(s)!;
    return [...(why ? [`# ${why.replace(/^CONFIG_(\w+) missing: /, 'without $1: ')}`] : []), `CONFIG_${s}=${value}`];
  });
  const header = [
    '# Kernel options for SMB Direct, written by smbdirect-provision.',
    '# Merge: scripts/kconfig/merge_config.sh .config THIS_FILE && make olddefconfig',
  ];
  return `${[...header, ...body].join('\n')}\n`;
}

function parseEntry(entry: string): [string, string, string | undefined] {
  const m = /^(?:CONFIG_)?([A-Z0-9_]+)(?:=([ymn]|".*"|\d+))?$/.exec(entry.trim());
  if (!m) throw new Error(`not a kernel option: ${JSON.stringify(entry)} (write SYMBOL, SYMBOL=y or CONFIG_SYMBOL=m)`);
  const known = REQ[m[1]!];
  if (m[2] === undefined && !known) throw new Error(`no default value for ${m[1]}: write ${m[1]}=y or =m`);
  return [m[1]!, m[2] ?? known!.want, known?.why];
}
