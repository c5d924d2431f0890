// Evidence of SMB Direct in the running cifs client when the kernel config cannot be read:
// /proc/fs/cifs/DebugData's "Features:" line lists SMB_DIRECT, per-connection "SMBDirect" lines
// show whether a mount really uses RDMA, and the smbd_* tunables exist only with CIFS_SMB_DIRECT.
// The lines src/smb/debugdata.ts reads (counters, channels, server interfaces) come along as they are.
import type { Fact } from './fact.js';

export interface CifsEvidence {
  /** DebugData was readable (cifs is loaded). */
  debugData: boolean;
  /** "CIFS Version 2.40" -> "2.40". */
  version: string | null;
  /** The Features line split: ["DFS", "FSCACHE", "SMB_DIRECT", "STATS", ...]. */
  features: string[];
  /** SMB_DIRECT in Features, or the smbd_* tunables exist; null when cifs is not loaded. */
  smbDirect: boolean | null;
  /** Per-connection SMBDirect lines, e.g. "SMBDirect (in hex) protocol version: 100 transport status: 2". */
  connections: string[];
  /** The DebugData lines read (versions, SMBDirect blocks, channels, interfaces): parseDebugData() reads them. */
  lines: string[];
}

/** What DebugData lines are sent: SMBDirect blocks with their counters, servers, channels, interfaces.
 * Per channel only its number line and a DISCONNECTED mark (not its credits and counters), so a
 * multichannel server adds a few lines and `head -n 400` still holds about ten servers. */
const WANTED = '^(CIFS Version|Features:)|SMBDirect|^[0-9]+\\) ConnectionId|^(Conn|Debug|Read Queue|Current Credits|Pending|Receive buffers|MR) |Extra Channels|Channel: [0-9]+ (ConnectionId|DISABLED)|DISCONNECTED|^RDMA *$|Server interfaces:|Capabilities:|IPv[46]:|Allocated channels|\\[CONNECTED\\]|Speed: ';

export const evidence: Fact<CifsEvidence> = {
  name: 'evidence',
  script: `sec evidence
f=/proc/fs/cifs/DebugData
[ -r $f ] && echo 'debugdata yes' && grep -E '${WANTED}' $f | head -n 400
[ -e /proc/fs/cifs/smbd_max_send_size ] && echo 'tunables yes'`,
  parse(s) {
    const lines = s.lines('evidence');
    const debugData = lines.includes('debugdata yes');
    const tunables = lines.includes('tunables yes');
    const version = lines.map((l) => /^CIFS Version (\S+)/.exec(l)?.[1]).find(Boolean) ?? null;
    const feat = lines.find((l) => l.startsWith('Features:'));
    const features = (feat ?? '').slice('Features:'.length).split(/[\s,]+/).filter(Boolean);
    const known = debugData || tunables;
    return {
      debugData,
      version,
      features,
      smbDirect: known ? features.includes('SMB_DIRECT') || tunables : null,
      connections: lines.filter((l) => l.includes('SMBDirect')).map((l) => l.trim()),
      lines: lines.filter((l) => l !== 'debugdata yes' && l !== 'tunables yes'),
    };
  },
};
