/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/smb-ksmbd-conf.test.ts > TAP > a full ksmbd.conf, rendered deterministically > ksmbd.conf 1`] = `
# Managed by smbdirect-provision: local changes are overwritten on the next run.
# A change under [global] needs a restart of ksmbd; share changes only a reload.
[global]
	server multi channel support = yes
	bind interfaces only = no
	interfaces = eth1
	max connections = 512
	netbios name = FILER1
	server min protocol = SMB3_00
	server signing = auto
	smb2 max read = 4M
	smb2 max write = 4M
	smb3 encryption = auto
	smbd max io size = 8M
	tcp port = 445
	workgroup = LAB

[data]
	path = /srv/data
	comment = RDMA scratch space
	read only = no
	browseable = yes
	valid users = alice @staff
	write list = alice
	create mask = 0664
	directory mask = 2775
	veto files = /.DS_Store/*.tmp/

[Données ☃]
	path = /srv/données
	read only = yes
	guest ok = no
	invalid users = bob
	force user = nobody
	force group = nogroup

`

exports[`test/smb-ksmbd-conf.test.ts > TAP > splitKsmbdConf reads a rendered file back to what it says > split of the rendered ksmbd.conf 1`] = `
Object {
  "global": String(
    bind interfaces only = no
    interfaces = eth1
    max connections = 512
    netbios name = FILER1
    server min protocol = SMB3_00
    server multi channel support = yes
    server signing = auto
    smb2 max read = 4M
    smb2 max write = 4M
    smb3 encryption = auto
    smbd max io size = 8M
    tcp port = 445
    workgroup = LAB
    
  ),
  "shares": String(
    [data]
    browseable = yes
    comment = RDMA scratch space
    create mask = 0664
    directory mask = 2775
    path = /srv/data
    read only = no
    valid users = alice @staff
    veto files = /.DS_Store/*.tmp/
    write list = alice
    [Données ☃]
    force group = nogroup
    force user = nobody
    guest ok = no
    invalid users = bob
    path = /srv/données
    read only = yes
    
  ),
}
`
