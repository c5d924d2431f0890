// The shared vocabulary of the engine: inventories, connections, facts, tasks and changes.
// Tasks see only Facts and Vars and return data; the engine alone talks to hosts.

export type Vars = Record<string, unknown>;

/** One host after inventory loading: every variable already merged by precedence. */
export interface HostSpec {
  name: string;
  /** Groups the host belongs to, directly or through children, plus "all". */
  groups: string[];
  vars: Vars;
  /** Where each variable was last set (a file, the inventory, -e), for messages. */
  origins?: Record<string, string>;
}

export interface GroupSpec {
  name: string;
  hosts: string[];
  children: string[];
  vars: Vars;
}

export interface Inventory {
  /** Hosts in the order they first appear in the inventory. */
  hosts: Map<string, HostSpec>;
  groups: Map<string, GroupSpec>;
  /** The inventory source this was read from (several -i sources: joined with ", "). */
  source: string;
}

export interface RunOutput {
  code: number;
  /** stdout decoded as UTF-8 once, whole (never chunk by chunk: that would split characters). */
  stdout: string;
  /** stdout as sent: facts carry file contents as raw bytes. */
  stdoutBytes: Buffer;
  stderr: string;
}

/** A live session with one host. Every call of run() is one round trip. */
export interface Connection {
  readonly host: string;
  /** Runs a POSIX sh script fed on stdin (never in argv), as root when become is set. */
  run(script: string, opts?: { timeoutMs?: number }): Promise<RunOutput>;
  close(): Promise<void>;
  readonly roundTrips: number;
}

export interface FileState {
  path: string;
  exists: boolean;
  isDir?: boolean;
  /** UTF-8 content; absent for directories and for files too large to read. */
  content?: string;
  /** SHA-256 (hex) of the content's bytes as read, what the apply compares the file with (#16). */
  sha256?: string;
  /**
   * The mount point of the cifs mount this path is at or under, when that mount did not answer
   * (its server is dead): the path was not touched, so nothing else about it is known (#16).
   */
  unanswered?: string;
  /** Names in the directory (without . and ..), for a read whose path ends in "/". */
  entries?: string[];
  /** Octal string such as "0644". */
  mode?: string;
  /** Owner and group names as stat shows them (%U/%G: "UNKNOWN" for an id without a name). */
  owner?: string;
  group?: string;
  /** The numeric ids (%u/%g), what a numeric owner/group is compared with. */
  uid?: string;
  gid?: string;
}

/**
 * A probe as a task declares it: a shell script, or one with its own time limit in seconds
 * (the default is the facts' COMMAND_TIMEOUT_S, src/facts/index.ts).
 */
export type ProbeCommand = string | { script: string; timeoutS: number };

export interface ProbeResult {
  code: number;
  stdout: string;
}

/** The kernel options as read from one source during one boot: valid until the host reboots. */
export interface KconfigRead {
  bootId: string;
  source: string;
  /** The kconfig section as the host printed it. */
  text: string;
}

/** Everything a plan may look at. `system` is filled by the fact gatherers (src/facts). */
export interface Facts {
  system: Record<string, unknown>;
  files: Record<string, FileState>;
  probes: Record<string, ProbeResult>;
  /** The kernel config section as read this boot, for the controller to keep (src/facts/kconfig-cache.ts). */
  kconfigRead?: KconfigRead;
}

interface ChangeBase {
  /** Handler names to run at the end of the play when this change applies. */
  notify?: string[];
  /**
   * Handler names this change makes unnecessary when it applies after their notification: a
   * service started here reads the files changed before it, so a restart notified by those files
   * would stop it again at once (7.x ksmbd has crashed in that stop, in the VM matrix). A later
   * notification sets it again.
   */
  satisfies?: string[];
}

export interface FileChange extends ChangeBase {
  kind: 'file';
  path: string;
  content: string;
  mode?: string;
  owner?: string;
  group?: string;
  /** Content is never shown in diffs, logs or JSON. */
  sensitive?: boolean;
  /** Shell command run against the temp file before the rename; %s is its path. */
  validate?: string;
  /** Set by the engine when only mode/owner differ: the content is not rewritten. */
  attrsOnly?: boolean;
}

/**
 * Removes a file, or a directory only when empty: the engine never deletes what is in one (rmdir).
 * For a directory the task must also read "PATH/" (its entries): a non-empty one is dropped from
 * the plan with the warning "kept PATH: not empty (N entries: ...)"; a failed task recreates it
 * empty with its mode and owner.
 */
export interface AbsentChange extends ChangeBase {
  kind: 'absent';
  path: string;
  /** Keep a copy under /var/backups/smbdirect-provision before removing (files only). */
  backup?: boolean;
}

export interface DirChange extends ChangeBase {
  kind: 'dir';
  path: string;
  mode?: string;
  owner?: string;
  group?: string;
}

export interface CommandChange extends ChangeBase {
  kind: 'command';
  /** What the user reads in output ("mount /mnt/share"). */
  desc: string;
  /** A shell command built only with src/quote.ts. */
  cmd: string;
  /** When given, the command runs only if the guard exits non-zero (like Ansible's creates/unless). */
  unless?: string;
}

export interface PackageChange extends ChangeBase {
  kind: 'packages';
  manager: 'apt' | 'dnf' | 'zypper';
  names: string[];
  /** apt: install from this release (e.g. bookworm-backports). */
  release?: string;
}

export interface ServiceChange extends ChangeBase {
  kind: 'service';
  name: string;
  enabled?: boolean;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
}

/** A (binary) file copied from the controller, e.g. a kernel module. Tasks decide when it is needed (e.g. from a sha256 probe). */
export interface UploadChange extends ChangeBase {
  kind: 'upload';
  /** Local path on the controller. */
  src: string;
  path: string;
  mode?: string;
  owner?: string;
  group?: string;
}

/** A file on the controller (e.g. a kernel config fragment). */
export interface LocalFileChange extends ChangeBase {
  kind: 'local-file';
  path: string;
  content: string;
}

export type Change =
  | FileChange
  | AbsentChange
  | DirChange
  | CommandChange
  | UploadChange
  | PackageChange
  | ServiceChange
  | LocalFileChange;

export interface TaskContext {
  host: string;
  vars: Vars;
  facts: Facts;
  check: boolean;
}

/** One verify check (src/smb/verify-checks.ts): PASS, FAIL or SKIP with its reason or remedy. */
export type CheckStatus = 'PASS' | 'FAIL' | 'SKIP';
export interface Check { name: string; status: CheckStatus; detail: string }

/** A kernel module as verify saw it: loaded, on disk, built in, or absent; where modinfo found it. */
export interface ModuleInfo { name: string; state: 'loaded' | 'available' | 'built-in' | 'missing' | 'unknown'; path?: string }

/** What the cluster report shows about a host beside its checks. */
export interface HostInfo {
  /** `uname -r`. */
  kernel: string;
  /** `uname -v` (the distribution's package version is in it). */
  kernelVersion?: string;
  roles: string[];
  modules: ModuleInfo[];
  /** ksmbd-tools' version, when installed (servers). */
  ksmbdTools?: string;
}

/** One direction of a throughput probe (src/smb/probe.ts). */
export interface ProbeTransfer {
  writeMBps: number;
  readMBps: number;
  /** Host-wide CPU time (user, nice, system, irq, softirq) the client spent over both transfers. */
  cpuSeconds?: number;
}

/** What the probe task measured on one client mount (`--json` carries it). */
export interface ProbeMeasure {
  host: string;
  path: string;
  server: string;
  share: string;
  sizeMiB: number;
  tool: 'dd' | 'fio';
  rdma: ProbeTransfer;
  tcp: ProbeTransfer;
  /** rdma.readMBps / tcp.readMBps. */
  ratio: number;
  /** The probe's ID in the share (its marker files): what the server's measure is matched by. */
  id?: string;
}

/** One probe phase as the server's sampler saw it (src/smb/probe-server.ts). */
export interface ServerPhaseCpu {
  /** Host-wide busy CPU time (user, nice, system, irq, softirq) between the phase's two markers. */
  cpuSeconds: number;
  /** The ksmbd kernel threads' own utime + stime over the phase (threads that ended meanwhile are missed). */
  ksmbdSeconds?: number;
}

/** What a server's sampler measured for one client probe (one client mount), per phase. */
export interface ServerProbeMeasure {
  server: string;
  /** ProbeMeasure.id of the client probe it belongs to. */
  id: string;
  /** The client's inventory name and mount point, as its start marker says. */
  client?: string;
  path?: string;
  phases: Partial<Record<'rdma write' | 'rdma read' | 'tcp write' | 'tcp read', ServerPhaseCpu>>;
  /** rdma write + read and tcp write + read, where both phases were seen. */
  rdma?: ServerPhaseCpu;
  tcp?: ServerPhaseCpu;
  /** How many client probes (this one included) ran on this server while it did: host-wide CPU is theirs together. */
  concurrent: number;
}

/** Data a task hands to the reporters (the cluster report), beside its message. */
export interface StructuredResult {
  checks?: Check[];
  hostInfo?: HostInfo;
  probe?: ProbeMeasure[];
  serverProbe?: ServerProbeMeasure[];
}

interface PlanExtras extends StructuredResult {
  warnings?: string[];
  /** A multi-line report always shown under the result (e.g. the verify table). */
  report?: string;
}

export type Plan =
  | ({ status: 'ok'; msg: string } & PlanExtras)
  | ({ status: 'skip'; msg: string } & PlanExtras)
  /** A failing plan may still carry local-file changes (e.g. the kernel config fragment that explains the failure). */
  | ({ status: 'fail'; msg: string; changes?: Change[] } & PlanExtras)
  | ({ status: 'change'; changes: Change[]; msg?: string } & PlanExtras);

/** One host a controller prepare runs for: what its gather printed there. */
export interface PrepareHost {
  /** The host as the inventory gives it. */
  host: HostSpec;
  /** Its variables as the task will see them (inventory, play vars, -e): of the first play that runs the task on it. */
  vars: Vars;
  /** The gather's stdout on this host. */
  output: string;
}

/**
 * Work a task needs done on the controller before any host is touched (e.g. building kernel
 * modules for the hosts' kernel releases). The engine runs each distinct prepare (by key) of the
 * run's plays once, before the first play: it runs `gather` once on each host that wants it
 * (hosts it cannot reach then are left out: their play's fact gathering reports them), then
 * run(); a throw stops the run before any host is changed.
 */
export interface ControllerPrepare {
  /** Tasks declaring the same key share one prepare (the first one met is run). */
  key: string;
  /** What the prepare does, as error messages say it: "ERROR! WHAT failed; no host was changed: ...". */
  what: string;
  /** What was undone when a signal stopped it (after "ERROR! interrupted (SIGINT) while WHAT: "). */
  interrupted: string;
  /** Whether a host with these vars needs it. */
  wants(vars: Vars): boolean;
  /** A read-only shell command run once per wanting host; only hosts where it exits 0 are passed to run(). */
  gather: string;
  run(hosts: PrepareHost[], log: (line: string) => void): Promise<void>;
}

/**
 * Vars a task derives from the whole inventory before the run (a play on one host cannot see
 * another host's vars): given every host (with -e applied over its vars) and where SSH reaches a
 * host, returns vars the engine adds to every host of the run, under inventory and play vars' -e.
 */
export type InventoryVars = (inv: Inventory, extraVars: Vars, addressOf: (h: HostSpec) => string | undefined) => Vars;

/** A unit of work: reads facts, returns a plan. Never touches a connection. */
export interface Task {
  name: string;
  tags?: string[];
  /** Vars derived from the whole inventory, once per run (InventoryVars); hooks shared by several tasks run once. */
  inventoryVars?: InventoryVars;
  /** Controller-side work done once per run before any host is touched (ControllerPrepare). */
  controllerPrepare?: ControllerPrepare;
  /** Remote paths whose state the plan needs (gathered with the facts, in the same round trip). */
  reads?(vars: Vars, host: string): string[];
  /**
   * Shell commands whose results the plan needs, keyed by a name of the task's choosing; they run
   * during fact gathering, also under --check (`check` true then; absent means false): read-only, except a probe that
   * measures and leaves nothing behind (smbdirect/probe, and smbdirect/probe-server-start/-collect:
   * a detached sampler in its own /run directory, collected by a later play or ending by itself), which must only look under --check.
   */
  probes?(vars: Vars, host: string, check?: boolean): Record<string, ProbeCommand>;
  plan(ctx: TaskContext): Plan;
}

export interface Handler {
  name: string;
  changes(vars: Vars, host: string): Change[];
}

export type ResultStatus = 'ok' | 'changed' | 'skipped' | 'failed' | 'unreachable';

export interface TaskResult extends StructuredResult {
  host: string;
  task: string;
  status: ResultStatus;
  msg: string;
  warnings?: string[];
  diff?: string;
  report?: string;
  /** What the host printed while applying (shown with -v). */
  stdout?: string;
}
