// /etc/ksmbd/ksmbd.conf: rendered from templates/ksmbd.conf.hbs, deterministic (fixed order, no
// timestamps). splitKsmbdConf reads any ksmbd.conf the way ksmbd-tools does, so the caller can
// tell a [global] change (restart) from a share-only change (reload).
import { createHash } from 'node:crypto';
import type { KsmbdShare, SmbModel } from './model.js';
import { render } from '../render.js';
import { casefold } from './text.js';

export const KSMBD_CONF = '/etc/ksmbd/ksmbd.conf';

type Param = { key: string; value: string };

const yn = (b: boolean) => (b ? 'yes' : 'no');

/** A share's ksmbd parameters in a fixed order; unset ones are left to ksmbd's defaults. */
export function shareParams(s: KsmbdShare): Param[] {
  const entries: Array<[string, string | undefined]> = [
    ['path', s.path],
    ['comment', s.comment],
    ['read only', yn(s.readOnly)],
    ['browseable', s.browseable === undefined ? undefined : yn(s.browseable)],
    ['guest ok', s.guestOk === undefined ? undefined : yn(s.guestOk)],
    ['valid users', s.validUsers.join(' ') || undefined],
    ['invalid users', s.invalidUsers.join(' ') || undefined],
    ['write list', s.writeList.join(' ') || undefined],
    ['force user', s.forceUser],
    ['force group', s.forceGroup],
    ['create mask', s.createMask],
    ['directory mask', s.directoryMask],
    ['veto files', s.vetoFiles],
  ];
  return entries.flatMap(([key, value]) => (value === undefined ? [] : [{ key, value }]));
}

export function renderKsmbdConf(model: Pick<SmbModel, 'global' | 'shares'>): string {
  return render('ksmbd.conf.hbs', {
    global: model.global.map(([key, value]) => ({ key, value })),
    shares: model.shares.map((s) => ({ name: s.name, params: shareParams(s) })),
  });
}

/** Just the [global] section as ksmbd reads it (normalized; see splitKsmbdConf). */
export function globalSection(model: Pick<SmbModel, 'global' | 'shares'>): string {
  return splitKsmbdConf(renderKsmbdConf(model)).global;
}

/**
 * Any ksmbd.conf text, normalized the way ksmbd-tools' parser reads it (tools/config_parser.c,
 * namjaejeon/ksmbd-tools @4d7d6c5): leading blanks skipped; ";" or "#" start a comment, also
 * inside a value; "[NAME]" (up to the first "]", then only blanks or a comment) opens a section;
 * section names compare case-insensitively and a repeated section continues the first one;
 * keys compare case-insensitively; the first non-empty value of a key wins; empty values are
 * ignored. Result: "key = value" lines sorted by key for [global], and for every other section
 * "[name]" followed by its sorted lines, sections sorted by name. Key-value lines before any
 * section (an error for ksmbd) are counted as [global], so they force a restart.
 */
export function splitKsmbdConf(text: string): { global: string; shares: string } {
  const sections = new Map<string, { name: string; kv: Map<string, string> }>();
  const section = (name: string) => {
    const key = casefold(name);
    let s = sections.get(key);
    if (!s) sections.set(key, (s = { name, kv: new Map() }));
    return s;
  };
  let current = section('global');
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\][ \t]*(?:[;#].*)?$/.exec(line);
    if (header) {
      current = section(header[1]!);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).replace(/[ \t]+$/, '').toLowerCase();
    const value = line.slice(eq + 1).split(/[;#]/)[0]!.trim();
    if (value !== '' && !current.kv.has(key)) current.kv.set(key, value);
  }
  const body = (kv: Map<string, string>) => [...kv].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k} = ${v}\n`).join('');
  const global = body(sections.get('global')!.kv);
  const shares = [...sections]
    .filter(([key]) => key !== 'global')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => `[${s.name}]\n${body(s.kv)}`)
    .join('');
  return { global, shares };
}

/** sha256 of the normalized [global] section: equal fingerprints mean no restart is needed. */
export function globalFingerprint(text: string): string {
  return createHash('sha256').update(splitKsmbdConf(text).global).digest('hex');
}

/** What moving from `before` (undefined: no file) to `after` needs: nothing, a reload or a restart. */
export function ksmbdConfChange(before: string | undefined, after: string): 'none' | 'reload' | 'restart' {
  if (before === undefined) return 'restart';
  const a = splitKsmbdConf(before);
  const b = splitKsmbdConf(after);
  if (a.global !== b.global) return 'restart';
  return a.shares === b.shares ? 'none' : 'reload';
}
