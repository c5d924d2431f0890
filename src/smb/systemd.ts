// systemd unit-name escaping, shared by the RDMA link unit and the mount units' drop-ins.
import { Buffer } from 'node:buffer';

/** systemd-escape for a name in a unit name: keeps [A-Za-z0-9:_.] (no leading dot), '/' -> '-', else \xNN per byte. */
export function systemdEscape(name: string): string {
  return [...Buffer.from(name, 'utf8')].map((b, i) => {
    const c = String.fromCharCode(b);
    if (c === '/') return '-';
    return /[A-Za-z0-9:_.]/.test(c) && !(i === 0 && c === '.') ? c : `\\x${b.toString(16).padStart(2, '0')}`;
  }).join('');
}

