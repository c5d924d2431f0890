// /proc/fs/cifs/DebugData read in both of its SMB Direct forms (fs/smb/client/cifs_debug.c):
//   before 6.18  "SMBDirect (in hex) protocol version: 100 transport status: 2", counters in hex
//   6.18 on      "SMBDirect protocol version: 0x100 transport status: CONNECTED (14)", counters in
//                decimal (values printed with 0x, such as "mr_type: 0x0", stay hex)
//   no transport "SMBDirect transport not available"
// Each SMBDirect line opens one connection; the "Conn ...", "Debug ...", "MR ..." lines after it
// are its counters. Per server ("N) ConnectionId: ... Hostname: H"), also the session's
// "Extra Channels: N" and its "Server interfaces:" (each with "Capabilities: rdma", "[CONNECTED]").
// Channels (same on 6.1, 6.12, 7.3): "Channel: N ConnectionId: 0x.." per extra channel (6.12 on also
// "Channel: N DISABLED"), "\tDISCONNECTED" at the end of a channel's last line, and a line "RDMA"
// per server whose primary channel is RDMA. Which transport an extra channel uses is not printed:
// src/smb/channels.ts judges it from the interfaces and the kernel log.
// Pure: give it the text (whole or grepped: the facts send only the lines that matter).

export interface SmbDirectConnection {
  /** The SMBDirect line as printed. */
  line: string;
  form: 'hex' | 'named' | 'not available';
  /** 0x100 for SMB Direct 1.0; null when not available. */
  protocolVersion: number | null;
  /** The kernel's status number (2 is connected in the hex form, 14 in the named form of 7.x). */
  status: number | null;
  /** "CONNECTED", "NEGOTIATE_FAILED"... (the hex form has only the number: named from the old enum). */
  statusName: string | null;
  connected: boolean;
  /** Every "name: value" counter after the line, as numbers ("max_send_size": 1364). */
  counters: Record<string, number>;
}

export interface ServerInterface { rdma: boolean; rss: boolean; address: string | null; channels: number | null; connected: boolean }

export interface CifsChannel {
  /** The kernel's number: the primary is 1, so the first extra channel is "Channel: 2". */
  number: number;
  /** "Channel: N DISABLED" (6.12 on: no server behind that slot). */
  disabled: boolean;
  /** Its lines ended with "DISCONNECTED" (needs reconnect). */
  disconnected: boolean;
}

export interface CifsServer {
  /** "10.0.2.15" from "1) ConnectionId: 0x1 Hostname: 10.0.2.15"; null in a grepped text without it. */
  hostname: string | null;
  smbDirect: SmbDirectConnection | null;
  /** "Extra Channels: N" of the server's session(s), summed; null when not printed. */
  extraChannels: number | null;
  /** The extra channels' own lines, in order. */
  extra: CifsChannel[];
  /** 1 + Extra Channels: an absent "Extra Channels" line means the session has only its primary. */
  channels: number;
  /** The block's "RDMA" line: the primary channel runs over SMB Direct. */
  rdma: boolean;
  /** "Server interfaces: N" as the server advertised them (FSCTL_QUERY_NETWORK_INTERFACE_INFO); null when not printed. */
  advertised: number | null;
  interfaces: ServerInterface[];
}

export interface DebugData { version: string | null; features: string[]; servers: CifsServer[]; connections: SmbDirectConnection[] }

/** smbd_connection_status (and the first smbdirect_socket_status) of the hex-form kernels. */
const HEX_STATUS = ['CREATED', 'CONNECTING', 'CONNECTED', 'NEGOTIATE_FAILED', 'DISCONNECTING', 'DISCONNECTED', 'DESTROYED'];

const HEX = /^SMBDirect \(in hex\) protocol version: ([0-9a-f]+) transport status: ([0-9a-f]+)/i;
const NAMED = /^SMBDirect protocol version: 0x([0-9a-f]+) transport status: (\S+) \((\d+)\)/i;
const COUNTER_LINE = /^(Conn|Debug|Read Queue|Current Credits|Pending|Receive buffers|MR) \w/;

function smbDirectLine(line: string): SmbDirectConnection | null {
  const base = { line, counters: {} };
  if (/^SMBDirect transport not available/.test(line)) return { ...base, form: 'not available', protocolVersion: null, status: null, statusName: null, connected: false };
  const hex = HEX.exec(line);
  if (hex) {
    const status = Number.parseInt(hex[2]!, 16);
    return { ...base, form: 'hex', protocolVersion: Number.parseInt(hex[1]!, 16), status, statusName: HEX_STATUS[status] ?? null, connected: status === 2 };
  }
  const named = NAMED.exec(line);
  if (!named) return null;
  const name = named[2]!.replace(/^SMBDIRECT_SOCKET_/, '');
  return { ...base, form: 'named', protocolVersion: Number.parseInt(named[1]!, 16), status: Number(named[3]), statusName: name, connected: name === 'CONNECTED' };
}

/** "name: value" pairs of a counter line; bare values are hex in the hex form, decimal after. */
function counters(line: string, hexForm: boolean, into: Record<string, number>): void {
  for (const m of line.matchAll(/(\w+):\s*(0x[0-9a-f]+|[0-9a-f]+)\b/gi)) {
    const v = m[2]!;
    into[m[1]!] = /^0x/i.test(v) ? Number.parseInt(v.slice(2), 16) : hexForm ? Number.parseInt(v, 16) : Number(v);
  }
}

export function parseDebugData(text: string): DebugData {
  const out: DebugData = { version: null, features: [], servers: [], connections: [] };
  let server: CifsServer | null = null;
  let conn: SmbDirectConnection | null = null;
  let iface: ServerInterface | null = null;
  let capsSeen = false;
  let chan: CifsChannel | null = null;
  const newServer = (hostname: string | null): CifsServer => {
    const s: CifsServer = { hostname, smbDirect: null, extraChannels: null, extra: [], channels: 1, rdma: false, advertised: null, interfaces: [] };
    out.servers.push(s);
    return s;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    out.version ??= /^CIFS Version (\S+)/.exec(line)?.[1] ?? null;
    if (line.startsWith('Features:')) out.features = line.slice('Features:'.length).split(/[\s,]+/).filter(Boolean);
    const host = /^\d+\) ConnectionId: \S+ Hostname: (\S+)/.exec(line);
    if (host) [server, conn, iface, chan] = [newServer(host[1]!), null, null, null];
    const sd = line.startsWith('SMBDirect') ? smbDirectLine(line) : null;
    if (sd) {
      // A grepped text without ConnectionId lines: each SMBDirect line is a server of its own.
      if (!server || server.smbDirect) server = newServer(null);
      server.smbDirect = sd;
      out.connections.push(sd);
      [conn, iface] = [sd, null];
      continue;
    }
    if (conn && COUNTER_LINE.test(line)) counters(line, conn.form === 'hex', conn.counters);
    const extra = /^Extra Channels: (\d+)/.exec(line);
    if (extra) {
      server ??= newServer(null);
      server.extraChannels = (server.extraChannels ?? 0) + Number(extra[1]);
      server.channels = 1 + server.extraChannels;
      chan = null;
    }
    if (/^RDMA$/.test(line)) (server ??= newServer(null)).rdma = true;
    const advertised = /^Server interfaces: (\d+)/.exec(line);
    if (advertised) {
      (server ??= newServer(null)).advertised = Number(advertised[1]);
      chan = null;
    }
    const channel = /^Channel: (\d+) (ConnectionId|DISABLED)/.exec(line);
    if (channel) {
      chan = { number: Number(channel[1]), disabled: channel[2] === 'DISABLED', disconnected: false };
      (server ??= newServer(null)).extra.push(chan);
    } else if (chan && /\bDISCONNECTED\b/.test(line)) chan.disconnected = true;
    // 6.1 prints nothing after "Capabilities: " when neither flag is set (6.12 on: "None").
    const caps = /^Capabilities:\s*(.*)$/.exec(line)?.[1];
    // An interface opens with its "Speed:" line (or, in a shortened text, a second "Capabilities:").
    if (/^(\d+\)\s+)?Speed: /.test(line) || (caps !== undefined && (!iface || capsSeen))) {
      [iface, capsSeen, chan] = [{ rdma: false, rss: false, address: null, channels: null, connected: false }, false, null];
      (server ??= newServer(null)).interfaces.push(iface);
    }
    if (!iface) continue;
    if (caps !== undefined) [iface.rdma, iface.rss, capsSeen] = [/\brdma\b/.test(caps), /\brss\b/.test(caps), true];
    iface.address ??= /^IPv[46]: (\S+)/.exec(line)?.[1] ?? null;
    const ch = /Allocated channels: (\d+)/.exec(line);
    if (ch) iface.channels = Number(ch[1]);
    if (/\[CONNECTED\]/.test(line)) iface.connected = true;
  }
  return out;
}
