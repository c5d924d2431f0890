// A cifs mount whose server does not answer (#16 item 1): the facts script gives every mount's
// statfs MOUNT_ANSWER_S and marks the ones that blocked ('hung': server powered off or cut off)
// or failed at once ('failed': the server refuses, e.g. ksmbd stopped). Everything that must say
// so (verify, the mount task, teardown, the engine's guard) says it the same way: which mount,
// which server, since when by the kernel's own log, and what to do.
import { MOUNT_ANSWER_S, type CifsMount, type SystemFacts } from '../facts/index.js';
import { quote } from '../quote.js';

export const ESTABLISHED = /RDMA transport (re-)?established/;
// smbdirect_*: the failure lines of 7.x kernels (smbdirect.ko), e.g. "smbdirect_connect_sync(...) failed with -111".
const TROUBLE = /rdma_connect\(\) failed|rdma_connect failed|smbdirect_\w+.*\b(failed|disconnected|error)|smbd_\w+:\d+ disconnected|has not responded in|Reconnecting|cifs_reconnect|reconnect tcon failed|connecting failed|Send error in|smbd_recv_buf/;

/** "5m02s ago" from a dmesg timestamp (seconds since boot) and the host's uptime. */
export function agoText(up: number | null, t: number | null): string {
  if (t === null || up === null || up < t) return t === null ? '' : `at ${t}s after boot`;
  const s = Math.round(up - t);
  return `${s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`} ago`;
}

/** The mounts of these facts that did not answer. */
export const unansweredMounts = (sys: SystemFacts): CifsMount[] => sys.mounts.filter((m) => m.answer !== undefined);

/**
 * One sentence for a mount that does not answer: "//ADDR/SHARE on /mnt/x (server srv1) does not
 * answer: statfs blocked for 5 s (...); last RDMA connection 12m03s ago, then "rdma_connect()
 * failed with -111" 40s ago; bring the server back ..., or unmount it: smbdirect run teardown ...".
 */
export function unansweredText(sys: SystemFacts, m: CifsMount, opts: { server?: string; host?: string } = {}): string {
  const how = m.answer === 'hung'
    ? `its statfs got no answer within ${MOUNT_ANSWER_S} s (the server is powered off, hung or cut off; anything that touches the mount blocks)`
    : 'its statfs failed at once (the server refuses the connection: is ksmbd stopped?)';
  const lines = sys.dmesg.lines;
  const lastUp = [...lines].reverse().find((l) => ESTABLISHED.test(l.text));
  const upAt = lastUp?.t ?? null;
  const trouble = lines.filter((l) => TROUBLE.test(l.text) && (upAt === null || (l.t ?? 0) >= upAt));
  const since = [
    lastUp ? `last RDMA connection ${agoText(sys.dmesg.uptime, lastUp.t)} ("${lastUp.text}")` : '',
    trouble.length ? `since then the kernel logged "${trouble[0]!.text}" ${agoText(sys.dmesg.uptime, trouble[0]!.t)}${trouble.length > 1 ? ` and ${trouble.length - 1} more line(s) like it, the last ${agoText(sys.dmesg.uptime, trouble[trouble.length - 1]!.t)}` : ''}` : '',
  ].filter(Boolean).join('; ');
  const server = opts.server ? ` (server ${opts.server})` : '';
  const teardown = `smbdirect run teardown${opts.host ? ` --limit ${quote(opts.host)}` : ''}`;
  return `${m.source} on ${m.target}${server} does not answer: ${how}${since ? `; ${since}` : ''}; bring the server back (the mount recovers by itself), or unmount it: ${teardown} (a lazy unmount)`;
}

/**
 * A bounded lazy unmount of a mount whose server does not answer: `umount -l` detaches it at once,
 * but the process then blocks in the kernel saying goodbye to the dead server; it is given 10 s and
 * then SIGKILL (the mount is gone from the table either way). -c: no canonicalising stat of the path.
 */
export function lazyUnmountCommand(target: string): string {
  const t = quote(target);
  return [
    `umount -l -c -- ${t} & p=$!`,
    'i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done',
    'kill -9 "$p" 2>/dev/null',
    `while read -r d m r; do [ "$m" = ${quote(target.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`))} ] && { printf '%s is still mounted\\n' ${t} >&2; exit 1; }; done < /proc/mounts`,
    'exit 0',
  ].join('\n');
}
