// Mounted SMB shares from /proc/mounts (cifs, smb3). The kernel adds options of its own
// (addr=, ...): compare only the options you manage.
import type { Fact } from './fact.js';

export interface CifsMount {
  /** "//10.0.2.15/share" */
  source: string;
  target: string;
  fstype: string;
  options: string[];
  /**
   * Set when the mount did not answer a statfs (src/facts/index.ts, MOUNT_ANSWER_S): 'hung' when
   * it was still blocked (a server powered off or cut off), 'failed' when it failed at once (the
   * server refuses: ksmbd stopped). Absent when it answered.
   */
  answer?: 'hung' | 'failed';
}

export const mounts: Fact<CifsMount[]> = {
  name: 'mounts',
  // /proc/mounts escapes blanks in its fields, so the shell's read splits it exactly.
  script: `sec mounts
while read -r d m f o r; do case $f in cifs|smb3) printf '%s\\n' "$d $m $f $o $r";; esac; done < "$MT"`,
  parse(s) {
    // "hung TARGET" / "failed TARGET", TARGET escaped as in /proc/mounts (the preamble's nr()).
    const answers = new Map(s.lines('mounts.answer').flatMap((l) => {
      const m = /^(hung|failed) (.+)$/.exec(l);
      return m ? [[unescape(m[2]!), m[1] as 'hung' | 'failed'] as const] : [];
    }));
    return s.lines('mounts').flatMap((line): CifsMount[] => {
      const [source, target, fstype, options] = line.split(' ');
      if (source === undefined || target === undefined || fstype === undefined || options === undefined) return [];
      const answer = answers.get(unescape(target));
      return [{ source: unescape(source), target: unescape(target), fstype, options: options.split(','), ...(answer ? { answer } : {}) }];
    });
  },
};

/** /proc/mounts writes space, tab, newline and backslash as octal escapes (\040 ...). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}
