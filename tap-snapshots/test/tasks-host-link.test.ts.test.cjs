/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/tasks-host-link.test.ts > TAP > the unit file: ordering, binding, idempotent start, quoting > rxe on a netdev needing escapes 1`] = `
# Managed by smbdirect-provision: local changes are overwritten on the next run.
# rdma-core cannot persist \`rdma link add\`: this unit creates the soft RDMA link rxe_a (rxe on
# br-lan) at boot, before ksmbd (which picks its RDMA port, 445 or 5445 for iWARP, when it
# starts) and before remote file systems are mounted. Starting it again is a no-op. It waits for
# br-lan itself (up to 10 min) instead of binding to its device unit: a device job gives up
# after 90 s, and on a slow boot that failed this unit for good ("dependency").
[Unit]
Description=Soft RDMA link rxe_a (rxe on br-lan) for SMB Direct
Wants=remote-fs-pre.target
Before=ksmbd.service remote-fs-pre.target
After=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStartPre=-/sbin/modprobe rdma_rxe
ExecStart=/bin/sh -c "i=0; while [ ! -e /sys/class/net/br-lan ]; do [ $$i -ge 600 ] && echo 'br-lan did not appear within 600 s' >&2 && exit 1; i=$$((i+1)); sleep 1; done; rdma dev show rxe_a >/dev/null 2>&1 || rdma link add rxe_a type rxe netdev br-lan"

[Install]
WantedBy=multi-user.target

`

exports[`test/tasks-host-link.test.ts > TAP > the unit file: ordering, binding, idempotent start, quoting > siw0 on ens3 1`] = `
# Managed by smbdirect-provision: local changes are overwritten on the next run.
# rdma-core cannot persist \`rdma link add\`: this unit creates the soft RDMA link siw0 (siw on
# ens3) at boot, before ksmbd (which picks its RDMA port, 445 or 5445 for iWARP, when it
# starts) and before remote file systems are mounted. Starting it again is a no-op. It waits for
# ens3 itself (up to 10 min) instead of binding to its device unit: a device job gives up
# after 90 s, and on a slow boot that failed this unit for good ("dependency").
[Unit]
Description=Soft RDMA link siw0 (siw on ens3) for SMB Direct
Wants=remote-fs-pre.target
Before=ksmbd.service remote-fs-pre.target
After=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStartPre=-/sbin/modprobe siw
ExecStart=/bin/sh -c "i=0; while [ ! -e /sys/class/net/ens3 ]; do [ $$i -ge 600 ] && echo 'ens3 did not appear within 600 s' >&2 && exit 1; i=$$((i+1)); sleep 1; done; rdma dev show siw0 >/dev/null 2>&1 || rdma link add siw0 type siw netdev ens3"

[Install]
WantedBy=multi-user.target

`

exports[`test/tasks-host-link.test.ts > TAP > verify: a healthy RHEL 9 client with two rdma mounts passes every check > healthy client table 1`] = `
h1: client, smbdirect_rdma_mode siw, kernel 5.14.0-503.14.1.el9_5.x86_64
CHECK                     RESULT  DETAIL
kernel options            PASS    CONFIG_INFINIBAND=m, CONFIG_INFINIBAND_ADDR_TRANS=y, CONFIG_CIFS=m, CONFIG_CIFS_SMB_DIRECT=y, CONFIG_RDMA_SIW=m, CONFIG_INFINIBAND_USER_ACCESS=m
RDMA link                 PASS    siw0 (iwarp) on ens3, ACTIVE
RDMA link at boot         PASS    smbdirect-rdma-siw0.service enabled, active
mount /mnt/share          PASS    //10.0.0.11/share vers=3.1.1,rdma
dmesg /mnt/share          PASS    "CIFS: VFS: RDMA transport established" 2h27m ago
mount /mnt/team projects  PASS    //10.0.0.11/projects vers=3.1.1,rdma
dmesg /mnt/team projects  PASS    "CIFS: VFS: RDMA transport established" 2h27m ago
cifs DebugData SMBDirect  PASS    2 of 2 SMBDirect connection(s) connected ("SMBDirect (in hex) protocol version: 100 transport status: 2")
no ksmbd/cifs oops        PASS    no Oops, BUG or general protection fault in ksmbd/cifs since boot (4 SMB/RDMA log lines read)
`
