// Rolling batches (#13 item 6): Ansible's `serial` play keyword, and our --serial. A play's hosts
// are cut into batches in inventory order; each batch runs the whole play (tasks, then handlers)
// before the next one starts.

/** A batch size: a host count (>= 1) or a percentage of the play's hosts ("30%", 1..100). */
export type SerialSize = number | `${number}%`;

/**
 * Reads a `serial` value (a number, "P%", or a list of them; a string may hold a comma-separated
 * list, as --serial does). Throws a message without a location: the caller says where.
 */
export function parseSerial(value: unknown): SerialSize[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' && value.includes(',') ? value.split(',') : [value];
  if (items.length === 0) throw new Error('"serial" is an empty list: give a batch size (2), a percentage ("30%") or a list of them');
  return items.map((item) => {
    const s = typeof item === 'string' ? item.trim() : item;
    if (typeof s === 'number' && Number.isInteger(s) && s >= 1) return s;
    if (typeof s === 'string' && /^\d+$/.test(s) && Number(s) >= 1) return Number(s);
    if (typeof s === 'string' && /^\d+%$/.test(s)) {
      const pct = Number(s.slice(0, -1));
      if (pct >= 1 && pct <= 100) return `${pct}%` as SerialSize;
    }
    throw new Error(`"serial" ${JSON.stringify(item)} is not a batch size: give a whole number of hosts (1 or more) or a percentage from "1%" to "100%"`);
  });
}

/** The hosts of one batch for a size: a percentage of all the play's hosts, rounded down, at least 1 (Ansible's pct_to_int). */
export function batchSize(size: SerialSize, total: number): number {
  if (typeof size === 'number') return size;
  return Math.floor((Number(size.slice(0, -1)) * total) / 100) || 1;
}

/** The play's hosts in batches: the sizes in order, the last one repeated; no serial, one batch. */
export function serialBatches<T>(hosts: T[], serial: SerialSize[] | undefined): T[][] {
  if (!serial?.length) return hosts.length ? [hosts] : [];
  const batches: T[][] = [];
  for (let at = 0, i = 0; at < hosts.length; i = Math.min(i + 1, serial.length - 1)) {
    const n = batchSize(serial[i]!, hosts.length);
    batches.push(hosts.slice(at, at + n));
    at += n;
  }
  return batches;
}
