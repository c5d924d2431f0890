// Handler names shared by the SMB Direct tasks. A task notifies by name; the task module that
// owns the action defines the handler (restart/reload ksmbd: the ksmbd service task;
// daemon-reload: tasks/smbdirect/rdma-link.ts).

/** ksmbd picks its RDMA port (445, or 5445 when an iWARP device exists) only when it starts. */
export const RESTART_KSMBD = 'restart ksmbd';
/** Share and user changes: `ksmbd.control --reload` (ksmbd-tools >= 3.4.6). */
export const RELOAD_KSMBD = 'reload ksmbd';
/** After a unit file changes. */
export const DAEMON_RELOAD = 'systemd daemon-reload';
