/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/tasks-smb-server.test.ts > TAP > fresh Debian 12 server: config, users, share directories > ksmbd.conf 1`] = `
# Managed by smbdirect-provision: local changes are overwritten on the next run.
# A change under [global] needs a restart of ksmbd; share changes only a reload.
[global]
	server multi channel support = yes
	workgroup = LAB

[data]
	path = /srv/data
	read only = no
	valid users = alice

[scratch]
	path = /srv/scratch
	read only = no
	force user = nobody

`
