// Host names with an optional :port and [x:y] / [x:y:step] / [a:c] ranges, as Ansible reads them
// in inventory files ("srv[01:20].example.com:2222", "[fe80::1]:22", "db-[a:c]").

import { fail, type Where } from './errors.js';

const RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const NUM_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const LABEL = String.raw`(?:[\p{L}\p{N}_]|${RANGE})(?:[\p{L}\p{N}_-]|${RANGE})*(?<![_-])`;
const V4 = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUM_RANGE})`;
const V6 = String.raw`(?:[0-9a-f]{1,4}|${HEX_RANGE})`;

const HOSTNAME_RE = new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, 'iu');
const IPV4_RE = new RegExp(String.raw`^(?:${V4}\.){3}${V4}$`, 'i');
const IPV6_RE = new RegExp(
  '^(?:' +
    [
      `(?:${V6}:){7}${V6}`,
      `(?:${V6}:){1,6}:`,
      `(?:${V6}:)(?::${V6}){1,6}`,
      `(?:${V6}:){2}(?::${V6}){1,5}`,
      `(?:${V6}:){3}(?::${V6}){1,4}`,
      `(?:${V6}:){4}(?::${V6}){1,3}`,
      `(?:${V6}:){5}(?::${V6}){1,2}`,
      `(?:${V6}:){6}(?::${V6})`,
      `:(?::${V6}){1,6}`,
      `${V6}?::`,
      `(?:0:){6}(?:${V6}\\.){3}${V6}`,
      `::(?:ffff:)?(?:${V6}\\.){3}${V6}`,
      `(?:0:){5}ffff:(?:${V6}\\.){3}${V6}`,
    ].join('|') +
    ')$',
  'i',
);
// Every IPv6 form has a ":" of its own, and nothing but hex digits, ":", "." and the brackets of
// ranges: without those the expression is not run. V8 compiles an expression on its first use and
// again to machine code on its second, ~5-7 ms for this one, paid by every inventory of host names
// and by every play whose pattern has a ":" ("smb_servers:smb_clients") (#14).
const IPV6_CHARS = /^[0-9a-f:.[\]]+$/i;
const isIpv6 = (s: string): boolean => s.includes(':') && IPV6_CHARS.test(s) && IPV6_RE.test(s);
const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;

export function isIpAddress(name: string): boolean {
  return IPV4_RE.test(name) || isIpv6(name);
}

function isAddress(s: string): boolean {
  return IPV4_RE.test(s) || isIpv6(s) || HOSTNAME_RE.test(s);
}

/** Whether text is one host address (name, IPv4, IPv6, with ranges and an optional port), like Ansible's parse_address. */
export function isAddressPattern(text: string): boolean {
  let s = text;
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(s);
    if (m) s = m[1]!;
  }
  return isAddress(s);
}

/**
 * Splits "host:port" / "[v6]:port" like Ansible's parse_address. When the text is not a
 * recognisable address, the whole text is the host name and there is no port.
 */
export function splitPort(pattern: string): { host: string; port?: number } {
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(pattern);
    if (m && isAddress(m[1]!)) return { host: m[1]!, port: Number(m[2]) };
  }
  return { host: pattern };
}

export function hasRange(name: string): boolean {
  return name.includes('[');
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function rangeError(where: Where | undefined, pattern: string, problem: string, fix: string): never {
  fail(where, pattern, `invalid host range in "${pattern}": ${problem}`, fix);
}

/**
 * Expands the first [begin:end(:step)] range of a host name, then the next, and so on:
 * "db[01:03]" -> db01 db02 db03, "n[a:c]" -> na nb nc, "x[1:10:4]" -> x1 x5 x9.
 * Zero-padding of the begin value is kept. A range whose begin is after its end is an error.
 */
export function expandHostRange(name: string, where?: Where, original = name): string[] {
  const open = name.indexOf('[');
  if (open < 0) return [name];
  const close = name.indexOf(']', open);
  if (close < 0) {
    rangeError(where, original, 'a "[" without a closing "]"', 'Close the range, e.g. "web[01:10]", or quote the name if "[" is literal');
  }
  const head = name.slice(0, open);
  const body = name.slice(open + 1, close);
  const tail = name.slice(close + 1);
  const bounds = body.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) {
    rangeError(where, original, `"[${body}]" is not begin:end or begin:end:step`, 'Write the range as [1:10], [01:10], [a:f] or [1:10:2]');
  }
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (!end) rangeError(where, original, `"[${body}]" has no end value`, 'Give both ends, e.g. [1:10]');
  if (!/^[0-9]+$/.test(stepText) || Number(stepText) < 1) {
    rangeError(where, original, `step "${stepText}" is not a positive integer`, 'Use a step of 1 or more, e.g. [1:10:2]');
  }
  const step = Number(stepText);
  let width = 0;
  if (beg.length > 1 && beg.startsWith('0')) {
    width = beg.length;
    if (width !== end.length) {
      rangeError(where, original, `"${beg}" and "${end}" have different widths`, `Pad both ends to the same width, e.g. [${beg}:${end.padStart(width, '0')}]`);
    }
  }
  let seq: string[];
  const ib = beg.length === 1 ? LETTERS.indexOf(beg) : -1;
  const ie = end.length === 1 ? LETTERS.indexOf(end) : -1;
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) rangeError(where, original, `begin "${beg}" is after end "${end}"`, `Write the range in ascending order, e.g. [${end}:${beg}]`);
    seq = [];
    for (let i = ib; i <= ie; i += step) seq.push(LETTERS[i]!);
  } else {
    if (!/^[0-9]+$/.test(beg) || !/^[0-9]+$/.test(end)) {
      rangeError(where, original, `"[${body}]" mixes letters and numbers or is not a range`, 'Use numbers on both ends ([1:10]) or single letters on both ends ([a:f])');
    }
    const b = Number(beg);
    const e = Number(end);
    if (b > e) rangeError(where, original, `begin ${beg} is after end ${end}`, `Write the range in ascending order, e.g. [${end}:${beg}]`);
    seq = [];
    for (let i = b; i <= e; i += step) seq.push(width ? String(i).padStart(width, '0') : String(i));
  }
  const out: string[] = [];
  for (const part of seq) out.push(...expandHostRange(head + part + tail, where, original));
  return out;
}

/** A host entry as written in an inventory: expands ranges and takes off a ":port" suffix. */
export function expandHostPattern(pattern: string, where?: Where): { hosts: string[]; port?: number } {
  const { host, port } = splitPort(pattern);
  const hosts = hasRange(host) ? expandHostRange(host, where) : [host];
  return port === undefined ? { hosts } : { hosts, port };
}
