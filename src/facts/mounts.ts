// Mounted SMB shares from /proc/mounts (cifs, smb3). The kernel adds options of its own
// (addr=, ...): compare only the options you manage.
import type { Fact } from './fact.js';

export interface CifsMount {
  /** "//10.0.2.15/share" */
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

export const mounts: Fact<CifsMount[]> = {
  name: 'mounts',
  // /proc/mounts escapes blanks in its fields, so the shell's read splits it exactly.
  script: `sec mounts
while read -r d m f o r; do case $f in cifs|smb3) echo "$d $m $f $o $r";; esac; done < /proc/mounts`,
  parse(s) {
    return s.lines('mounts').flatMap((line): CifsMount[] => {
      const [source, target, fstype, options] = line.split(' ');
      if (source === undefined || target === undefined || fstype === undefined || options === undefined) return [];
      return [{ source: unescape(source), target: unescape(target), fstype, options: options.split(',') }];
    });
  },
};

/** /proc/mounts writes space, tab, newline and backslash as octal escapes (\040 ...). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}
