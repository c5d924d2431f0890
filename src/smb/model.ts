// The validated SMB model of one host: what the vars mean once every check has passed.
// Produced by validateSmbVars (vars.ts); consumed by the renderers. No connection, no facts.

export const KERNEL_POLICIES = ['fail', 'warn', 'build-modules'] as const;
export type KernelPolicy = (typeof KERNEL_POLICIES)[number];

export const RDMA_MODES = ['hardware', 'siw', 'rxe'] as const;
export type RdmaMode = (typeof RDMA_MODES)[number];

export interface RdmaSettings {
  mode: RdmaMode;
  /** Interface the soft RDMA link sits on; undefined = the caller's default (inventory address). */
  netdev?: string;
  /** Set for the list form of smbdirect_rdma_netdev: every interface, one soft link on each; netdev is the first. */
  netdevs?: string[];
  /** Soft RDMA link name ("siw0"/"rxe0" by default); undefined for hardware. The first of linkNames. */
  linkName?: string;
  /** Set for the list form: one soft link name per netdev (default siw0, siw1, ... / rxe0, ...). */
  linkNames?: string[];
}

export interface KsmbdShare {
  name: string;
  path: string;
  comment?: string;
  readOnly: boolean;
  browseable?: boolean;
  guestOk?: boolean;
  validUsers: string[];
  invalidUsers: string[];
  writeList: string[];
  forceUser?: string;
  forceGroup?: string;
  /** 4 octal digits, e.g. "0744". */
  createMask?: string;
  directoryMask?: string;
  /** ksmbd syntax: "/name1/name2/". */
  vetoFiles?: string;
  /** Owner, group and mode of the share directory itself (not ksmbd parameters). */
  owner?: string;
  group?: string;
  mode?: string;
}

/** A ksmbd user: where its password comes from on the controller. Passwords are never in vars. */
export interface KsmbdUser {
  name: string;
  passwordFile?: string;
  passwordEnv?: string;
}

export interface SmbMount {
  /** Inventory host name of the server (a member of smb_servers). */
  server: string;
  share: string;
  /** Mount point, absolute, no trailing slash. */
  path: string;
  /** A ksmbd user of that server. */
  user: string;
  /** "3.1.1", "3.02", "3.0", "3" or "3.11". */
  vers: string;
  /** Extra cifs options, validated: none of the ones smbdirect-provision manages. */
  options: string[];
  seal: boolean;
}

export interface SmbModel {
  kernelPolicy: KernelPolicy;
  rdma: RdmaSettings;
  /** [global] parameters in the order they are written; "server multi channel support" first. */
  global: Array<[string, string]>;
  shares: KsmbdShare[];
  users: KsmbdUser[];
  mounts: SmbMount[];
}

/** What a client needs to know about one server (from the server's own vars and inventory). */
export interface ServerInfo {
  /** The address clients mount from. */
  address: string;
  /** Share names, when known: mounts of unknown shares are refused. */
  shares?: string[];
  /** ksmbd user names, when known: mounts as unknown users are refused. */
  users?: string[];
}
