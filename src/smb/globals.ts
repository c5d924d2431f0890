// ksmbd_global: extra [global] parameters of ksmbd.conf, checked against what ksmbd-tools'
// parser really does (tools/config_parser.c, process_global_conf_kv) and the kernel's limits.
import { BOOL_FIX, confValueProblem, isRecord, kindOf, netdevNameProblem, utf8Bytes, yesNo } from './text.js';
import { didYouMean, type Problems } from './problems.js';

type Spec =
  | { t: 'bool' }
  | { t: 'enum'; values: readonly string[]; why?: string }
  | { t: 'int'; min: number; max: number }
  | { t: 'size'; min: number; max: number; why: string }
  | { t: 'string'; maxBytes?: number }
  | { t: 'interfaces' };

/** The kernel's protocol names (fs/smb/server/smb_common.c), matched case-sensitively. */
export const PROTOCOLS = ['SMB2_02', 'SMB2_10', 'SMB3_00', 'SMB3_02', 'SMB3_11'] as const;
const CONFIG_OPT = ['disabled', 'auto', 'mandatory'] as const;
const K = 1024;
const M = 1024 * K;

export const GLOBAL_SPECS: Readonly<Record<string, Spec>> = {
  'bind interfaces only': { t: 'bool' },
  deadtime: { t: 'int', min: 0, max: 2 ** 31 - 1 },
  'durable handles': { t: 'bool' },
  'guest account': { t: 'string', maxBytes: 32 },
  interfaces: { t: 'interfaces' },
  'ipc timeout': { t: 'int', min: 0, max: 2 ** 31 - 1 },
  'map to guest': { t: 'enum', values: ['never', 'bad user'], why: 'ksmbd implements only these two' },
  'max connections': { t: 'int', min: 0, max: 65536 },
  'max ip connections': { t: 'int', min: 0, max: 65536 },
  'max open files': { t: 'int', min: 0, max: 2 ** 31 - 1 },
  'netbios name': { t: 'string', maxBytes: 15 },
  'server max protocol': { t: 'enum', values: PROTOCOLS, why: 'the kernel matches these names exactly' },
  'server min protocol': { t: 'enum', values: PROTOCOLS, why: 'the kernel matches these names exactly' },
  'server signing': { t: 'enum', values: CONFIG_OPT, why: 'ksmbd silently reads any other value as "disabled"' },
  'server string': { t: 'string' },
  'smb2 leases': { t: 'bool' },
  'smb2 max read': { t: 'size', min: 64 * K, max: 8 * M, why: 'the kernel clamps it to 64K-8M' },
  'smb2 max trans': { t: 'size', min: 64 * K, max: 8 * M, why: 'the kernel clamps it to 64K-8M' },
  'smb2 max write': { t: 'size', min: 64 * K, max: 8 * M, why: 'the kernel clamps it to 64K-8M' },
  'smb3 encryption': { t: 'enum', values: CONFIG_OPT, why: 'ksmbd silently reads any other value, even "yes", as "disabled"' },
  'smbd max io size': { t: 'size', min: 512 * K, max: 16 * M, why: 'the kernel clamps it to 512K-16M' },
  'tcp port': { t: 'int', min: 1, max: 65535 },
  workgroup: { t: 'string', maxBytes: 15 },
};

export const MULTICHANNEL = 'server multi channel support';

/** Share parameters (ksmbd-tools KSMBD_SHARE_CONF) that would be defaults for every share in [global]. */
const SHARE_KEYS = ['comment', 'path', 'guest ok', 'read only', 'browseable', 'write ok', 'writeable', 'writable', 'create mask', 'directory mask', 'force group', 'force user', 'valid users', 'invalid users', 'read list', 'write list', 'admin users', 'hosts allow', 'hosts deny', 'veto files', 'vfs objects', 'oplocks', 'store dos attributes', 'hide dot files', 'inherit owner', 'follow symlinks', 'crossmnt', 'force create mode', 'force directory mode'];

/** "TCP_Port", "tcp  port" -> "tcp port". */
export const normalizeKey = (k: string): string => k.trim().toLowerCase().replace(/[_\s]+/g, ' ');

/** "8MB", "8M", "512k", 1048576 -> bytes, with the canonical text to write ("8M"). */
export function parseSize(v: unknown): { bytes: number; text: string } | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? { bytes: v, text: String(v) } : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)\s*([kmg])?(?:i?b)?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const bytes = n * ({ '': 1, K, M, G: 1024 * M } as Record<string, number>)[unit]!;
  return { bytes, text: `${n}${unit}` };
}

/** Validated [global] entries, "server multi channel support = yes" first, then sorted by key. */
export function validateGlobals(raw: unknown, p: Problems, path = 'ksmbd_global'): Array<[string, string]> {
  const out = new Map<string, string>();
  if (raw === undefined || raw === null) return [[MULTICHANNEL, 'yes']];
  if (!isRecord(raw)) {
    p.error(path, raw, `must be a mapping of ksmbd [global] parameters, found ${kindOf(raw)}`, 'write e.g. ksmbd_global: { "smb3 encryption": auto }');
    return [[MULTICHANNEL, 'yes']];
  }
  const seen = new Map<string, string>();
  for (const [rawKey, v] of Object.entries(raw)) {
    const key = normalizeKey(rawKey);
    const at = `${path}["${rawKey}"]`;
    const dup = seen.get(key);
    if (dup !== undefined) {
      p.error(at, v, `same parameter as "${dup}"`, 'keep only one of them');
      continue;
    }
    seen.set(key, rawKey);
    const value = checkGlobal(key, v, at, p);
    if (value !== undefined) out.set(key, value);
  }
  crossCheck(out, p, path);
  const rest = [...out.entries()].filter(([k]) => k !== MULTICHANNEL).sort(([a], [b]) => (a < b ? -1 : 1));
  return [[MULTICHANNEL, 'yes'], ...rest];
}

function checkGlobal(key: string, v: unknown, at: string, p: Problems): string | undefined {
  if (key === MULTICHANNEL) {
    if (yesNo(v) !== 'yes') p.error(at, v, 'SMB Direct needs it: the kernel\'s SMB Direct guide requires it, and clients discover RDMA-capable interfaces through multi-channel', 'remove this key: smbdirect-provision always writes "server multi channel support = yes"');
    return undefined;
  }
  const spec = GLOBAL_SPECS[key];
  if (!spec) {
    const hint = didYouMean(key, Object.keys(GLOBAL_SPECS));
    if (SHARE_KEYS.includes(key)) p.error(at, v, `"${key}" is a share parameter, not a [global] one`, `${hint}set it per share in ksmbd_shares`);
    else p.error(at, v, `unknown ksmbd [global] parameter "${key}"`, `${hint}see docs/variables.md for the parameters smbdirect-provision knows`);
    return undefined;
  }
  return checkValue(spec, key, v, at, p);
}

function checkValue(spec: Spec, key: string, v: unknown, at: string, p: Problems): string | undefined {
  switch (spec.t) {
    case 'bool': {
      const yn = yesNo(v);
      if (yn === undefined) p.error(at, v, `"${key}" is a boolean`, BOOL_FIX);
      return yn;
    }
    case 'enum': {
      const s = typeof v === 'string' ? v.trim() : v;
      if (typeof s === 'string' && spec.values.includes(s)) return s;
      const hint = typeof s === 'string' ? didYouMean(s, spec.values) : '';
      p.error(at, v, `"${key}" must be one of ${spec.values.join(', ')}${spec.why ? ` (${spec.why})` : ''}`, `${hint}use one of those values`);
      return undefined;
    }
    case 'int': {
      const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
      if (typeof n === 'number' && Number.isInteger(n) && n >= spec.min && n <= spec.max) return String(n);
      p.error(at, v, `"${key}" must be a whole number from ${spec.min} to ${spec.max}`, 'give a plain number');
      return undefined;
    }
    case 'size': {
      const s = parseSize(v);
      if (s && s.bytes >= spec.min && s.bytes <= spec.max) return s.text;
      p.error(at, v, `"${key}" must be a size from ${spec.min / K}K to ${spec.max / M}M (${spec.why})`, 'write a size such as 8MB, 4M, 1024K or a number of bytes');
      return undefined;
    }
    case 'string':
      return checkString(key, v, at, p, spec.maxBytes);
    case 'interfaces':
      return checkInterfaces(v, at, p);
  }
}

function checkString(key: string, v: unknown, at: string, p: Problems, maxBytes?: number): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') {
    p.error(at, v, `"${key}" must be a string, found ${kindOf(v)}`, 'write a plain string');
    return undefined;
  }
  const s = String(v);
  const why = confValueProblem(s) ?? (maxBytes !== undefined && utf8Bytes(s) > maxBytes ? `"${key}" is at most ${maxBytes} bytes (a NetBIOS limit)` : undefined);
  if (why) p.error(at, v, why, 'change the value');
  return why ? undefined : s;
}

function checkInterfaces(v: unknown, at: string, p: Problems): string | undefined {
  const names = typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v;
  if (!Array.isArray(names) || names.length === 0) {
    p.error(at, v, '"interfaces" must be a non-empty list of network interface names', 'write e.g. interfaces: [eth1, ib0]');
    return undefined;
  }
  let ok = true;
  names.forEach((n, i) => {
    const why = typeof n === 'string' ? netdevNameProblem(n) : `found ${kindOf(n)}`;
    if (why) {
      p.error(`${at}[${i}]`, n, why, 'give the interface name as `ip link` shows it');
      ok = false;
    }
  });
  return ok ? names.join(' ') : undefined;
}

/** Checks between parameters: SMB Direct needs SMB 3.0 or later; min <= max. */
function crossCheck(g: Map<string, string>, p: Problems, path: string): void {
  const idx = (k: string) => PROTOCOLS.indexOf(g.get(k) as (typeof PROTOCOLS)[number]);
  const max = idx('server max protocol');
  const min = idx('server min protocol');
  if (max !== -1 && max < PROTOCOLS.indexOf('SMB3_00')) {
    p.error(`${path}["server max protocol"]`, g.get('server max protocol'), 'SMB Direct requires Version >=3.0', 'use SMB3_00 or later (SMB3_11 is the default)');
  }
  if (max !== -1 && min !== -1 && min > max) {
    p.error(`${path}["server min protocol"]`, g.get('server min protocol'), `higher than "server max protocol" (${g.get('server max protocol')}): no client could connect`, 'lower the minimum or raise the maximum');
  }
  if (g.get('smb3 encryption') === 'mandatory') {
    p.warn(`${path}["smb3 encryption"]`, 'mandatory', 'encryption disables RDMA read/write offload: most of SMB Direct\'s gain is lost', 'use "auto" unless the RDMA network is untrusted');
  }
  if (g.get('bind interfaces only') === 'yes' && !g.has('interfaces')) {
    p.error(`${path}["bind interfaces only"]`, 'yes', 'with no "interfaces" given ksmbd listens on nothing', 'add interfaces: [NETDEV] or drop "bind interfaces only"');
  }
}
