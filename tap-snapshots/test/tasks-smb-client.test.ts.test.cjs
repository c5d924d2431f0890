/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/tasks-smb-client.test.ts > TAP > RHEL 9 client (SMB Direct kernel, two rdma mounts live): credentials, fstab, one new mount > fstab 1`] = `

#
# /etc/fstab
# Created by anaconda on Tue Nov 19 10:12:33 2024
#
# Accessible filesystems, by reference, are maintained under '/dev/disk/'.
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
#
# After editing this file, run 'systemctl daemon-reload' to update systemd
# units generated from this file.
#
/dev/mapper/rhel-root   /                       xfs     defaults        0 0
UUID=5b0e7c1a-3d2f-4e6b-8a9c-0d1e2f3a4b5c /boot                   xfs     defaults        0 0
/dev/mapper/rhel-swap   none                    swap    defaults        0 0
//10.0.0.11/share /mnt/share cifs vers=3.1.1,rdma,credentials=/etc/smbdirect-provision/credentials/srv1@alice,_netdev,nofail 0 0
//10.0.0.11/projects /mnt/team\\040projects cifs vers=3.1.1,rdma,credentials=/etc/smbdirect-provision/credentials/srv1@alice,_netdev,nofail 0 0
//10.0.0.11/data /mnt/data cifs vers=3.1.1,rdma,credentials=/etc/smbdirect-provision/credentials/srv1@alice,_netdev,nofail,cache=none 0 0

`
