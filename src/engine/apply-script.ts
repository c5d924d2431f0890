// Turns planned changes into ONE POSIX sh script (one round trip per host) and reads its report.
// Each task is a transaction: its files are saved first and restored if any of its steps fails,
// so a host ends with the old or the new file, never a partial one. Content travels base64 in
// here-documents on stdin: no file content or secret reaches any process's argv.
import { readFileSync } from 'node:fs';
import type { Change, DirChange, FileChange } from '../types.js';
import { cmd, heredoc, quote } from '../quote.js';

export const MARK = '@@smbdirect-apply@@';
export const BACKUP_ROOT = '/var/backups/smbdirect-provision';

export interface ScriptTask {
  id: number;
  changes: Change[];
}
/** The per-host lock (#16): where, and who holds it (the controller's user@host pid N). */
export const LOCK_DIR = '/run/smbdirect-provision/lock';
export const CHANGED = 'changed since its facts were read: run again';
export interface ApplyOptions {
  lock?: { who: string; dir?: string };
  /**
   * What each managed path was when the plan was made: "missing", "dir", "exists" (content not
   * read) or the SHA-256 of its content. Compared under the lock before anything is changed.
   */
  expect?: Array<[path: string, state: string]>;
}

export interface ScriptHandler {
  id: number;
  name: string;
  changes: Change[];
}

// SIGPIPE ignored: if the controller goes away (link cut, task timeout, Ctrl-C), the script still
// finishes each transaction (or restores its files) instead of dying at its next report line.
// SIGHUP ignored too (by the commands it runs as well): without a terminal, sshd sends none when
// the channel closes (tested), but a session with one (sudo's use_pty) hangs up its group (#16).
const PRELUDE = `umask 022
trap '' PIPE HUP
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
sd_mark() { printf '\\n${MARK} %s\\n' "$*"; }
SD_TX=$(mktemp -d /tmp/.smbdirect-tx.XXXXXX) || { echo "${MARK} abort cannot create a temp dir"; exit 0; }
sd_save() { if [ -e "$1" ] || [ -L "$1" ]; then cp -a -- "$1" "$SD_TX/$2"; else : > "$SD_TX/$2.absent"; fi; }
sd_restore() {
  if [ -e "$SD_TX/$2.absent" ]; then if [ -d "$1" ] && [ ! -L "$1" ]; then rmdir -- "$1" 2>/dev/null; else rm -f -- "$1"; fi
  elif [ -e "$SD_TX/$2.dir" ]; then read -r m u g < "$SD_TX/$2.dir" && { [ -d "$1" ] || mkdir -- "$1"; } && chown -- "$u:$g" "$1" && chmod -- "$m" "$1"
  elif [ -e "$SD_TX/$2" ] || [ -L "$SD_TX/$2" ]; then cp -a -- "$SD_TX/$2" "$1.smbdirect-restore" && mv -f -- "$1.smbdirect-restore" "$1"; fi
}
# sd_rmdir DIR SLOT: removes an (empty) directory, never what is in it; keeps only its mode and
# owner, so a failed transaction recreates it empty as it was.
sd_rmdir() { stat -c '%a %u %g' -- "$1" > "$SD_TX/$2.dir" && rmdir -- "$1"; }
# sd_warn TEXT: a step's warning, shown with its task's result (its output goes to the step's log,
# so it is kept in a file and reported with the log).
sd_warn() { printf '%s\\n' "$*" >> "$SD_TX/warn"; }
sd_log() {
  sd_mark "log $1 $(base64 -w0 < "$SD_TX/log" 2>/dev/null)"
  if [ -s "$SD_TX/warn" ]; then sd_mark "warned $1 $(base64 -w0 < "$SD_TX/warn")"; rm -f -- "$SD_TX/warn"; fi
}
sd_enable() { if [ -d /run/systemd/system ]; then systemctl "$@"; else systemctl --root=/ "$@"; fi; }
`;

function owner(c: { owner?: string; group?: string }): string | undefined {
  if (!c.owner && !c.group) return undefined;
  return `${c.owner ?? ''}${c.group ? `:${c.group}` : ''}`;
}

function setAttrs(target: string, c: { mode?: string; owner?: string; group?: string }): string[] {
  const lines: string[] = [];
  if (c.mode) lines.push(`chmod ${quote(c.mode)} ${target} || return 1`);
  const o = owner(c);
  if (o) lines.push(`chown ${quote(o)} ${target} || return 1`);
  return lines;
}

function fileLines(c: FileChange & { bytes?: Buffer }, slot: number): string[] {
  const p = quote(c.path);
  if (c.attrsOnly) return [`sd_save ${p} ${slot} || return 1`, ...setAttrs(p, c)];
  const dir = quote(c.path.replace(/\/[^/]*$/, '') || '/');
  const doc = heredoc((c.bytes ?? Buffer.from(c.content, 'utf8')).toString('base64').replace(/(.{76})/g, '$1\n'));
  const lines = [
    `sd_save ${p} ${slot} || return 1`,
    `[ -d ${dir} ] || mkdir -p -- ${dir} || return 1`,
    `SD_T=$(mktemp ${dir}/.smbdirect.XXXXXX) || return 1`,
    `base64 -d > "$SD_T" ${doc.open} || return 1\n${doc.body.trimEnd()}`,
  ];
  // Without an explicit mode, a replaced file keeps its mode and owner (as Ansible's copy does).
  // A new file without a mode gets 0644 (mktemp makes 0600), as umask 022 would give.
  if (!c.mode) lines.push(`if [ -e ${p} ]; then chmod --reference=${p} "$SD_T"; else chmod 0644 "$SD_T"; fi`);
  if (!owner(c)) lines.push(`if [ -e ${p} ]; then chown --reference=${p} "$SD_T"; fi`);
  lines.push(...setAttrs('"$SD_T"', c));
  if (c.validate) lines.push(`${c.validate.split('%s').join('"$SD_T"')} || return 1`);
  lines.push(`mv -f -- "$SD_T" ${p} || return 1`, `SD_T=`);
  return lines;
}

function dirLines(c: DirChange, slot: number): string[] {
  const p = quote(c.path);
  return [`if [ ! -d ${p} ]; then sd_save ${p} ${slot}; mkdir -p -- ${p} || return 1; fi`, ...setAttrs(p, c)];
}

function packageLines(c: Extract<Change, { kind: 'packages' }>): string[] {
  const names = c.names.map(quote).join(' ');
  if (c.manager === 'dnf') return [`dnf install -y -q ${names} || return 1`];
  if (c.manager === 'zypper') return [`zypper -n -q install ${names} || return 1`];
  const rel = c.release ? `-t ${quote(c.release)} ` : '';
  const install = `DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold ${rel}${names}`;
  // Stale package lists are the usual first-run failure: refresh once and retry.
  return [`${install} || { apt-get update -q && ${install}; } || return 1`];
}

function serviceLines(c: Extract<Change, { kind: 'service' }>): string[] {
  const lines: string[] = [];
  if (c.enabled !== undefined) lines.push(`sd_enable ${c.enabled ? 'enable' : 'disable'} ${quote(c.name)} || return 1`);
  const verb = { started: 'start', stopped: 'stop', restarted: 'restart', reloaded: 'reload' } as const;
  if (c.state) lines.push(`${cmd('systemctl', verb[c.state], c.name)} || return 1`);
  return lines;
}

function backupThenRemove(path: string, backup: boolean | undefined, slot: number): string[] {
  const p = quote(path);
  const keep = backup
    ? [`mkdir -p -- ${quote(BACKUP_ROOT + path.replace(/\/[^/]*$/, ''))} && cp -a -- ${p} ${quote(BACKUP_ROOT + path)} || return 1`]
    : [];
  // A directory (the planner saw it empty) is only ever rmdir'ed: no backup, no recursive delete.
  return [`if [ -d ${p} ] && [ ! -L ${p} ]; then sd_rmdir ${p} ${slot} || return 1; else`, `sd_save ${p} ${slot} || return 1`, ...keep, `rm -f -- ${p} || return 1; fi`];
}

/** Shell lines for one change; `slot` numbers its backup in the transaction dir. */
function changeLines(c: Change, slot: number, notifyVar: (h: string) => string): string[] {
  const body = ((): string[] => {
    switch (c.kind) {
      case 'file': return fileLines(c, slot);
      case 'upload': return fileLines({ ...c, kind: 'file', content: '', bytes: readFileSync(c.src) }, slot);
      case 'dir': return dirLines(c, slot);
      case 'absent': return backupThenRemove(c.path, c.backup, slot);
      case 'packages': return packageLines(c);
      case 'service': return serviceLines(c);
      case 'command':
        return c.unless
          ? [`if ! ( ${c.unless} ) >/dev/null 2>&1; then`, `  ( ${c.cmd} ) || return $?`, '  SD_CH=1', 'fi']
          : [`( ${c.cmd} ) || return $?`];
      case 'local-file': return [];
    }
  })();
  // Commands run in a subshell so an `exit` inside one cannot end the whole script.
  // A guarded command marks "changed" itself; every other change that reaches the script changes something.
  const changed = c.kind === 'command' && c.unless ? [] : ['SD_CH=1'];
  const clears = (c.satisfies ?? []).map((h) => `${notifyVar(h)}=0`);
  const notes = [...clears, ...(c.notify ?? []).map((h) => `${notifyVar(h)}=1`)];
  if (c.kind === 'command' && c.unless) return [...body.slice(0, -1), ...notes.map((n) => `  ${n}`), 'fi'];
  // A start satisfies only when it starts the service: one already running (started earlier in
  // this play, e.g. by a package's postinst) still runs on what it read before.
  if (c.kind === 'service' && c.state === 'started' && clears.length) {
    const start = body.pop()!;
    const isActive = `${cmd('systemctl', 'is-active', '--quiet', c.name)} 2>/dev/null`;
    return [...body, `if ! ${isActive}; then`, `  ${start}`, ...clears.map((n) => `  ${n}`), 'fi', ...changed, ...notes.slice(clears.length)];
  }
  return [...body, ...changed, ...notes];
}

function restorable(c: Change): string | undefined {
  return c.kind === 'file' || c.kind === 'upload' || c.kind === 'dir' || c.kind === 'absent' ? c.path : undefined;
}

/**
 * The per-host lock: `mkdir` (atomic) of a directory with an `owner` file (the host-side shell's
 * PID, then who and since when), removed when the script exits. Held by a live run: the script
 * stops before changing anything. Held by a run whose shell is gone: taken over, with a warning.
 * A login user who cannot create it (no become: it cannot change system files either) runs without.
 */
function lockLines(dir: string, who: string): string {
  const d = quote(dir);
  const parent = quote(dir.replace(/\/[^/]*$/, '') || '/');
  return `if mkdir -p -- ${parent} 2>/dev/null && [ -w ${parent} ]; then
  if ! mkdir -- ${d} 2>/dev/null; then
    SD_HP=; SD_WHO=
    if [ -f ${d}/owner ]; then { read -r SD_HP; read -r SD_WHO; } < ${d}/owner; fi
    if [ -n "$SD_HP" ] && ! kill -0 "$SD_HP" 2>/dev/null && [ ! -d "/proc/$SD_HP" ] && mv -- ${d} ${d}.stale.$$ 2>/dev/null && mkdir -- ${d} 2>/dev/null; then
      rm -rf -- ${d}.stale.$$; sd_mark "warn took over the lock ${dir} of a run that is gone (\${SD_WHO:-no owner recorded})"
    else
      sd_mark "abort locked by \${SD_WHO:-another run (no owner recorded yet)}: wait, or remove ${dir} if that run is gone"; exit 0
    fi
  fi
  trap 'rm -rf -- ${d}' EXIT
  printf '%s\\n%s since %s\\n' "$$" ${quote(who)} "$(date '+%Y-%m-%d %H:%M:%S %Z')" > ${d}/owner
fi`;
}

/** sd_same PATH STATE: whether PATH is still what the plan was made from (see ApplyOptions.expect). */
const SAME = `sd_same() {
  if [ -d "$1" ]; then [ "$2" = dir ]
  elif [ ! -e "$1" ]; then [ "$2" = missing ]
  elif [ "$2" = exists ] || ! command -v sha256sum >/dev/null 2>&1; then [ "$2" != dir ] && [ "$2" != missing ]
  else [ "$(sha256sum < "$1")" = "$2  -" ]; fi
}`;

export function buildApplyScript(tasks: ScriptTask[], handlers: ScriptHandler[], opts: ApplyOptions = {}): string {
  const notifyIds = new Map(handlers.map((h) => [h.name, h.id]));
  const notifyVar = (name: string) => `SD_N${notifyIds.get(name) ?? 'X'}`;
  let slot = 0;
  // Lock, then compare, then the transactions: nothing is changed before both passed.
  const guard = opts.lock ? [lockLines(opts.lock.dir ?? LOCK_DIR, opts.lock.who)] : [];
  if (opts.expect?.length) {
    guard.push(SAME, ...opts.expect.map(([p, st]) =>
      `sd_same ${quote(p)} ${quote(st)} || { sd_mark ${quote(`abort ${p} ${CHANGED}`)}; exit 0; }`));
  }
  // (a function as the replacement: the guard's `$$` must stay as it is)
  const out = [PRELUDE.replace('SD_TX=', () => [...guard, 'SD_TX='].join('\n'))];
  const block = (fn: string, label: string, changes: Change[]) => {
    const saved: Array<[string, number]> = [];
    const lines = changes.flatMap((c) => {
      const s = ++slot;
      const p = restorable(c);
      if (p) saved.push([p, s]);
      return changeLines(c, s, notifyVar);
    });
    const restore = saved.reverse().map(([p, s]) => `sd_restore ${quote(p)} ${s}`);
    out.push(
      `${fn}() {\nSD_CH=0\n${lines.join('\n')}\n}`,
      `if ${fn} > "$SD_TX/log" 2>&1; then sd_log ${label}; sd_mark "done ${label} $SD_CH"`,
      // Restore first, report after: nothing that talks to the controller comes before the files are back.
      `else SD_RC=$?; [ -n "\${SD_T:-}" ] && rm -f -- "$SD_T"`,
      ...restore.map((r) => `  ${r}`),
      `  sd_log ${label}; sd_mark "failed ${label} $SD_RC"; rm -rf -- "$SD_TX"; exit 0; fi`,
    );
  };
  for (const t of tasks) block(`sd_task_${t.id}`, `task:${t.id}`, t.changes);
  for (const h of handlers) {
    out.push(`if [ "\${SD_N${h.id}:-0}" = 1 ]; then`);
    block(`sd_handler_${h.id}`, `handler:${h.id}`, h.changes);
    out.push('fi');
  }
  out.push('rm -rf -- "$SD_TX"', `sd_mark end`);
  // One brace group: sh parses all of it before running any of it, so a script cut short in
  // transit (the link dropped while it streamed in on stdin) is a syntax error that changes
  // nothing, instead of running its first tasks.
  return `{\n${out.join('\n')}\n}\n`;
}

export interface StepReport {
  label: string;
  status: 'done' | 'failed';
  changed: boolean;
  rc: number;
  log: string;
  /** What the step said with sd_warn, one line each. */
  warnings: string[];
}

/** Reads the markers; a missing `end` means the session died mid-way. */
export function parseApplyOutput(stdout: string): { steps: StepReport[]; ended: boolean; abort?: string; warnings: string[] } {
  const steps: StepReport[] = [];
  const warnings: string[] = [];
  const logs = new Map<string, string>();
  const warned = new Map<string, string[]>();
  let ended = false;
  let abort: string | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(MARK + ' ')) continue;
    const [word, label = '', arg = ''] = line.slice(MARK.length + 1).split(' ');
    if (word === 'log') logs.set(label, Buffer.from(arg, 'base64').toString('utf8'));
    else if (word === 'warned') warned.set(label, Buffer.from(arg, 'base64').toString('utf8').split('\n').filter(Boolean));
    else if (word === 'done' || word === 'failed')
      steps.push({ label, status: word, changed: word === 'done' && arg === '1', rc: Number(arg), log: logs.get(label) ?? '', warnings: warned.get(label) ?? [] });
    else if (word === 'end') ended = true;
    else if (word === 'abort') abort = line.slice(MARK.length + 7);
    else if (word === 'warn') warnings.push(line.slice(MARK.length + 6));
  }
  return { steps, ended, abort, warnings };
}
