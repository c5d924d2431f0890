import t from 'tap';
import { formatProblem } from '../src/smb/problems.js';
import { serverInfo, validateSmbVars, type SmbVarsContext } from '../src/smb/vars.js';
import type { Vars } from '../src/types.js';

const ctx: SmbVarsContext = { host: 'h1', servers: { srv1: { address: '10.0.0.1', shares: ['data', 'Scratch'], users: ['alice', 'bob'] } } };
const base = { ksmbd_users: [{ name: 'alice', password_file: 'secrets/alice.pw' }, { name: 'bob', password_env: 'BOB_PW' }] };
const errors = (vars: Vars, c = ctx) => validateSmbVars(vars, c).errors.map(formatProblem);
const warnings = (vars: Vars, c = ctx) => validateSmbVars(vars, c).warnings.map(formatProblem);

t.test('a complete, valid set of vars becomes the typed model', async (t) => {
  const r = validateSmbVars({
    ...base,
    smbdirect_rdma_mode: 'rxe',
    smbdirect_rdma_netdev: 'eth1',
    ksmbd_global: { 'smb3 encryption': 'auto', tcp_port: 445, 'bind interfaces only': true, interfaces: ['eth1', 'eth2'], 'smb2 max read': '4MB', 'smbd max io size': 8388608, 'netbios name': 'FILER1', 'server multi channel support': true },
    ksmbd_shares: [{ name: 'data', path: '/srv/data', valid_users: ['alice', '@staff'], create_mask: '0644', directory_mask: '755', veto_files: ['.DS_Store', '*.tmp'], mode: '2775', owner: 'alice', group: 'staff' }],
    smb_mounts: [{ server: 'srv1', share: 'DATA', path: '/mnt/data/', user: 'alice', options: ['cache=none', 'nofail'], vers: 3.02 }],
  }, ctx);
  t.same(r.errors, []);
  t.same(r.warnings, []);
  t.same(r.model, {
    kernelPolicy: 'fail',
    rdma: { mode: 'rxe', netdev: 'eth1', linkName: 'rxe0' },
    global: [['server multi channel support', 'yes'], ['bind interfaces only', 'yes'], ['interfaces', 'eth1 eth2'], ['netbios name', 'FILER1'], ['smb2 max read', '4M'], ['smb3 encryption', 'auto'], ['smbd max io size', '8388608'], ['tcp port', '445']],
    shares: [{ name: 'data', path: '/srv/data', readOnly: false, validUsers: ['alice', '@staff'], invalidUsers: [], writeList: [], createMask: '0644', directoryMask: '0755', vetoFiles: '/.DS_Store/*.tmp/', owner: 'alice', group: 'staff', mode: '2775' }],
    users: [{ name: 'alice', passwordFile: 'secrets/alice.pw' }, { name: 'bob', passwordEnv: 'BOB_PW' }],
    mounts: [{ server: 'srv1', share: 'DATA', path: '/mnt/data', user: 'alice', vers: '3.02', options: ['cache=none'], seal: false }],
  });
});

t.test('defaults: policy fail, siw with link siw0, multi-channel forced, nothing else', async (t) => {
  const r = validateSmbVars({}, { host: 'h1' });
  t.same(r.model, { kernelPolicy: 'fail', rdma: { mode: 'siw', linkName: 'siw0' }, global: [['server multi channel support', 'yes']], shares: [], users: [], mounts: [] });
  t.same(validateSmbVars({ smbdirect_rdma_mode: 'hardware' }, { host: 'h1' }).model?.rdma, { mode: 'hardware' });
});

t.test('kernel policy and RDMA settings', async (t) => {
  t.same(errors({ smbdirect_kernel_policy: 'warnn', smbdirect_rdma_mode: 'auto', smbdirect_rdma_netdev: 'eth 0', smbdirect_rdma_link_name: 'x%d' }), [
    'h1: smbdirect_kernel_policy = "warnn": must be one of fail, warn, build-modules; did you mean "warn"? the default is fail',
    'h1: smbdirect_rdma_mode = "auto": there is no "auto": the mode decides the port (5445 for iWARP/siw, 445 otherwise) and the firewall, and iWARP and IB/RoCE devices must not be mixed on one ksmbd host; choose hardware, siw (the default) or rxe',
    'h1: smbdirect_rdma_netdev = "eth 0": an interface name cannot contain "/", ":", blanks or control characters; give the interface as `ip link` shows it, or leave it unset to use the one carrying the inventory address',
    'h1: smbdirect_rdma_link_name = "x%d": an RDMA link name is 1-63 letters, digits, ".", "_" or "-"; write e.g. siw0',
  ]);
  t.match(errors({ smbdirect_rdma_mode: 'roce', smbdirect_rdma_netdev: 'averyveryverylongname' }), [
    'h1: smbdirect_rdma_mode = "roce": must be one of hardware, siw, rxe; did you mean "rxe"? the default is siw',
    'h1: smbdirect_rdma_netdev = "averyveryverylongname": an interface name is 1-15 bytes;',
  ]);
  t.same(warnings({ smbdirect_rdma_mode: 'hardware', smbdirect_rdma_link_name: 'siw0' }), [
    "h1: smbdirect_rdma_link_name = \"siw0\": ignored with smbdirect_rdma_mode: hardware (the card's driver names its own device); remove it, or use siw/rxe",
  ]);
});

t.test('several soft RDMA links: a list of netdevs, link names per netdev, each problem with its key', async (t) => {
  t.same(validateSmbVars({ smbdirect_rdma_netdev: ['eth1', 'eth2'] }, { host: 'h1' }).model?.rdma,
    { mode: 'siw', netdev: 'eth1', netdevs: ['eth1', 'eth2'], linkName: 'siw0', linkNames: ['siw0', 'siw1'] }, 'default names: the prefix plus the index');
  t.same(validateSmbVars({ smbdirect_rdma_mode: 'rxe', smbdirect_rdma_netdev: ['eth1', 'eth2'], smbdirect_rdma_link_name: ['r_a', 'r_b'] }, { host: 'h1' }).model?.rdma,
    { mode: 'rxe', netdev: 'eth1', netdevs: ['eth1', 'eth2'], linkName: 'r_a', linkNames: ['r_a', 'r_b'] });
  t.same(errors({ smbdirect_rdma_netdev: ['eth1', 'eth2'], smbdirect_rdma_link_name: ['siw0'] }), [
    'h1: smbdirect_rdma_link_name = ["siw0"]: 1 name(s) for the 2 interface(s) of smbdirect_rdma_netdev; give one name per interface, in the same order, or leave it unset (siw0, siw1)',
  ]);
  t.same(errors({ smbdirect_rdma_netdev: ['eth1', 'eth2'], smbdirect_rdma_link_name: 'siw0' }), [
    'h1: smbdirect_rdma_link_name = "siw0": 1 name(s) for the 2 interface(s) of smbdirect_rdma_netdev; give one name per interface, in the same order, or leave it unset (siw0, siw1)',
  ], 'one name for two links');
  t.same(errors({ smbdirect_rdma_netdev: ['eth1', 'eth2'], smbdirect_rdma_link_name: ['siw0', 'siw0'] }), [
    'h1: smbdirect_rdma_link_name = ["siw0","siw0"]: the names must differ (one link per interface); leave it unset for siw0, siw1, ...',
  ]);
  t.same(errors({ smbdirect_rdma_netdev: ['eth1', 'eth2'], smbdirect_rdma_link_name: ['siw0', 'a b'] }), [
    'h1: smbdirect_rdma_link_name[1] = "a b": an RDMA link name is 1-63 letters, digits, ".", "_" or "-"; write e.g. siw0',
  ]);
  t.same(errors({ smbdirect_rdma_netdev: ['eth1', 'eth1'] }), [
    'h1: smbdirect_rdma_netdev = ["eth1","eth1"]: "eth1" is listed twice: one interface carries one soft RDMA link; list each interface once',
  ]);
  t.same(errors({ smbdirect_rdma_netdev: ['eth1', 'eth 2', 7] }), [
    'h1: smbdirect_rdma_netdev[1] = "eth 2": an interface name cannot contain "/", ":", blanks or control characters; give the interface as `ip link` shows it, or leave it unset to use the one carrying the inventory address',
    'h1: smbdirect_rdma_netdev[2] = 7: must be an interface name; give the interface as `ip link` shows it, or leave it unset to use the one carrying the inventory address',
  ], 'each bad entry by its index, no cascade into the link names');
  t.match(errors({ smbdirect_rdma_netdev: [] }), ['h1: smbdirect_rdma_netdev = []: a list names 1-4 interfaces, one soft RDMA link on each; give one interface per RDMA NIC, e.g. [eth1, eth2]']);
  t.match(errors({ smbdirect_rdma_netdev: ['e1', 'e2', 'e3', 'e4', 'e5'] }), [/^h1: smbdirect_rdma_netdev = \["e1".*: a list names 1-4 interfaces/]);
  t.same(errors({ smbdirect_rdma_mode: 'hardware', smbdirect_rdma_netdev: ['eth1', 'eth2'] }), [
    "h1: smbdirect_rdma_netdev = [\"eth1\",\"eth2\"]: a list names one soft RDMA link per interface (siw/rxe); with smbdirect_rdma_mode: hardware the card's driver makes the devices; give one interface (the one the hardware check looks at), or leave it unset",
  ]);
  t.same(warnings({ smbdirect_rdma_mode: 'hardware', smbdirect_rdma_link_name: ['siw0', 'siw1'] }), [
    "h1: smbdirect_rdma_link_name = [\"siw0\",\"siw1\"]: ignored with smbdirect_rdma_mode: hardware (the card's driver names its own device); remove it, or use siw/rxe",
  ], 'a list of names under hardware: ignored with a warning, as a single name is');
  t.same(warnings({ smbdirect_rdma_netdev: ['eth1', 'eth2'], ksmbd_global: { 'bind interfaces only': 'yes', interfaces: 'eth1' } }), [
    'h1: ksmbd_global["interfaces"] = ["eth1"]: does not include smbdirect_rdma_netdev eth2: ksmbd will not listen for TCP there; add eth2 to interfaces',
  ], 'every RDMA interface must be among the bound ones');
});

t.test('ksmbd_global: types, enums, ranges, forced multi-channel, unknown keys', async (t) => {
  t.same(errors({ ksmbd_global: {
    'server multi channel support': 'no', 'smb3 encryption': 'yes', 'server signing': 'required', 'tcp port': 70000, tcp_prot: 1,
    'bind interfaces only': 'on', interfaces: ['eth0', 'a/b'], 'netbios name': 'ABCDEFGHIJKLMNOPQ', 'smb2 max read': '16MB',
    'smbd max io size': '256K', 'server min protocol': 'smb3_11', 'read only': 'no', workgroup: 'A;B', 'max connections': 'lots', 'TCP Port': 445,
  } }), [
    `h1: ksmbd_global["server multi channel support"] = "no": SMB Direct needs it: the kernel's SMB Direct guide requires it, and clients discover RDMA-capable interfaces through multi-channel; remove this key: smbdirect-provision always writes "server multi channel support = yes"`,
    'h1: ksmbd_global["smb3 encryption"] = "yes": "smb3 encryption" must be one of disabled, auto, mandatory (ksmbd silently reads any other value, even "yes", as "disabled"); use one of those values',
    'h1: ksmbd_global["server signing"] = "required": "server signing" must be one of disabled, auto, mandatory (ksmbd silently reads any other value as "disabled"); use one of those values',
    'h1: ksmbd_global["tcp port"] = 70000: "tcp port" must be a whole number from 1 to 65535; give a plain number',
    'h1: ksmbd_global["tcp_prot"] = 1: unknown ksmbd [global] parameter "tcp prot"; did you mean "tcp port"? see docs/variables.md for the parameters smbdirect-provision knows',
    'h1: ksmbd_global["bind interfaces only"] = "on": "bind interfaces only" is a boolean; use true/false or "yes"/"no" (ksmbd reads any value not starting with yes, 1, true or enable as "no", so "on" would silently mean no)',
    'h1: ksmbd_global["interfaces"][1] = "a/b": an interface name cannot contain "/", ":", blanks or control characters; give the interface name as `ip link` shows it',
    'h1: ksmbd_global["netbios name"] = "ABCDEFGHIJKLMNOPQ": "netbios name" is at most 15 bytes (a NetBIOS limit); change the value',
    'h1: ksmbd_global["smb2 max read"] = "16MB": "smb2 max read" must be a size from 64K to 8M (the kernel clamps it to 64K-8M); write a size such as 8MB, 4M, 1024K or a number of bytes',
    'h1: ksmbd_global["smbd max io size"] = "256K": "smbd max io size" must be a size from 512K to 16M (the kernel clamps it to 512K-16M); write a size such as 8MB, 4M, 1024K or a number of bytes',
    'h1: ksmbd_global["server min protocol"] = "smb3_11": "server min protocol" must be one of SMB2_02, SMB2_10, SMB3_00, SMB3_02, SMB3_11 (the kernel matches these names exactly); did you mean "SMB3_11"? use one of those values',
    'h1: ksmbd_global["read only"] = "no": "read only" is a share parameter, not a [global] one; set it per share in ksmbd_shares',
    'h1: ksmbd_global["workgroup"] = "A;B": ksmbd.conf has no quoting: ";" starts a comment and the rest of the value would be dropped; change the value',
    'h1: ksmbd_global["max connections"] = "lots": "max connections" must be a whole number from 0 to 65536; give a plain number',
    'h1: ksmbd_global["TCP Port"] = 445: same parameter as "tcp port"; keep only one of them',
  ]);
  t.same(errors({ ksmbd_global: ['tcp port = 445'] }), ['h1: ksmbd_global = ["tcp port = 445"]: must be a mapping of ksmbd [global] parameters, found a list; write e.g. ksmbd_global: { "smb3 encryption": auto }']);
  t.same(errors({ ksmbd_global: { 'bind interfaces only': 'yes' } }), ['h1: ksmbd_global["bind interfaces only"] = "yes": with no "interfaces" given ksmbd listens on nothing; add interfaces: [NETDEV] or drop "bind interfaces only"']);
});

t.test('ksmbd_global: protocol range and SMB Direct', async (t) => {
  t.same(errors({ ksmbd_global: { 'server max protocol': 'SMB2_10', 'server min protocol': 'SMB3_00' } }), [
    'h1: ksmbd_global["server max protocol"] = "SMB2_10": SMB Direct requires Version >=3.0; use SMB3_00 or later (SMB3_11 is the default)',
    'h1: ksmbd_global["server min protocol"] = "SMB3_00": higher than "server max protocol" (SMB2_10): no client could connect; lower the minimum or raise the maximum',
  ]);
  t.same(errors({ ksmbd_global: { 'server max protocol': 'SMB3_11', 'server min protocol': 'SMB2_10' } }), []);
});

t.test('ksmbd_global: warnings that do not fail', async (t) => {
  t.same(warnings({ smbdirect_rdma_netdev: 'eth1', ksmbd_global: { 'smb3 encryption': 'mandatory', 'bind interfaces only': 'yes', interfaces: 'eth0, eth2' } }), [
    `h1: ksmbd_global["smb3 encryption"] = "mandatory": encryption disables RDMA read/write offload: most of SMB Direct's gain is lost; use "auto" unless the RDMA network is untrusted`,
    'h1: ksmbd_global["interfaces"] = ["eth0","eth2"]: does not include smbdirect_rdma_netdev eth1: ksmbd will not listen for TCP there; add eth1 to interfaces',
  ]);
});

t.test('ksmbd_users: names, password sources, never an inline password', async (t) => {
  const e = errors({ ksmbd_users: [
    { name: 'alice', password: 'hunter2' }, { name: 'a:b', password_file: '/x' }, { name: 'bob' }, { name: 'carol', password_file: '/x', password_env: 'X' },
    { name: 'dave', password_env: 'not-a-var' }, { name: 'erin', passwd_file: 'x', password_env: 'E' }, { name: 'x'.repeat(48), password_env: 'E' },
    { name: 'with space', password_env: 'E' }, { name: '@grp', password_env: 'E' }, { name: 'bob', password_env: 'B' }, 'frank', { name: 'line\nbreak', password_env: 'E' },
  ] });
  t.same(e, [
    'h1: ksmbd_users[0].password: passwords are never accepted in vars: they would be stored in the inventory and could show up in diffs and logs; put the password in a file on the controller (chmod 600) and set password_file: PATH, or export it and set password_env: VARNAME',
    'h1: ksmbd_users[0]: no password source; set exactly one of password_file (a file on the controller) or password_env (an environment variable on the controller)',
    'h1: ksmbd_users[1].name = "a:b": a ksmbd user name cannot contain ":" (it separates name and hash in ksmbdpwd.db); choose another user name',
    'h1: ksmbd_users[2]: no password source; set exactly one of password_file (a file on the controller) or password_env (an environment variable on the controller)',
    'h1: ksmbd_users[3]: both password_file and password_env are set; set exactly one of password_file (a file on the controller) or password_env (an environment variable on the controller)',
    'h1: ksmbd_users[4].password_env = "not-a-var": must be an environment variable name (letters, digits, "_"); give the name of the variable, not its value',
    'h1: ksmbd_users[5].passwd_file = "x": unknown user field; did you mean "password_file"? the fields are: name, password_file, password_env',
    `h1: ksmbd_users[6].name = "${'x'.repeat(48)}": a ksmbd user name is 1-47 bytes of UTF-8; choose another user name`,
    'h1: ksmbd_users[7].name = "with space": a ksmbd user name cannot contain blanks, ",", ";" or "#" (they break ksmbd.conf user lists and the cifs credentials file); choose another user name',
    'h1: ksmbd_users[8].name = "@grp": a name starting with "@" means a system group in ksmbd.conf; choose another user name',
    'h1: ksmbd_users[9].name = "bob": this user is listed twice; keep one entry per user',
    'h1: ksmbd_users[10] = "frank": a user must be a mapping, found a string; write { name: alice, password_file: secrets/alice.pw }',
    'h1: ksmbd_users[11].name = "line\\nbreak": a ksmbd user name cannot contain control characters (newline, tab, ...); choose another user name',
  ]);
  t.notMatch(e.join('\n'), 'hunter2', 'an inline password is never echoed');
  t.same(errors({ ksmbd_users: [{ name: 'üser', password_env: 'E' }] }), [], 'unicode names are fine');
});

t.test('ksmbd_shares: names, paths, masks, user lists', async (t) => {
  t.same(errors({ ...base, ksmbd_shares: [
    { name: 'a]b', path: 'rel' }, { name: 'Data', path: '/srv/../etc' },
    { name: 'data', path: '/srv/data', create_mask: 644, directory_mask: '999', valid_users: ['alice', 'alicee', '@staff', 'x y'], comment: 'team #1', readonly: true },
    { name: 'GLOBAL', path: '/x' }, { name: 'é'.repeat(32), path: '/y', veto_files: ['a/b'] }, { name: 'IPC$', path: '/z' },
    { name: 'new\nline', path: '/a' }, { name: 'a/b', path: '/a' }, { path: '/a' }, { name: 'ok', path: '/a/ ', write_list: 'alice', read_only: 'maybe' },
    { name: 'DATA', path: '/srv/data2' },
  ] }), [
    'h1: ksmbd_shares[0].name = "a]b": a share name cannot contain "[" or "]": ksmbd.conf section headers are [NAME]; rename the share',
    'h1: ksmbd_shares[0].path = "rel": the path must be absolute (start with "/"); give the absolute path of the shared directory',
    'h1: ksmbd_shares[1].path = "/srv/../etc": the path must not contain ".." components; give the absolute path of the shared directory',
    'h1: ksmbd_shares[2].readonly = true: unknown share field; did you mean "read_only"? the fields are: name, path, comment, read_only, browseable, guest_ok, valid_users, invalid_users, write_list, force_user, force_group, create_mask, directory_mask, veto_files, owner, group, mode',
    'h1: ksmbd_shares[2].comment = "team #1": ksmbd.conf has no quoting: "#" starts a comment and the rest of the value would be dropped; change the comment',
    'h1: ksmbd_shares[2].valid_users[1] = "alicee": not a user in ksmbd_users; did you mean "alice"? add it to ksmbd_users, or write @GROUP for a system group',
    'h1: ksmbd_shares[2].valid_users[3] = "x y": ksmbd splits these lists at blanks and commas; fix the name',
    'h1: ksmbd_shares[2].create_mask = 644: a mode written as a bare number is ambiguous once YAML has read it (0755 may arrive as 493 or 755); quote it as 4 octal digits: "0644"',
    'h1: ksmbd_shares[2].directory_mask = "999": a mode is 3 or 4 octal digits such as "0755"; quote it as 4 octal digits: "0644"',
    'h1: ksmbd_shares[2].name = "data": same share as ksmbd_shares[1] (share names are case-insensitive); give each share a distinct name',
    'h1: ksmbd_shares[3].name = "GLOBAL": "GLOBAL" is a section ksmbd reserves for itself; rename the share',
    `h1: ksmbd_shares[4].name = "${'é'.repeat(32)}": a share name is 1-63 bytes of UTF-8; rename the share`,
    'h1: ksmbd_shares[4].veto_files = ["a/b"]: bad entry "a/b": a name cannot be empty or contain "/", ";", "#" or control characters; fix that entry',
    'h1: ksmbd_shares[5].name = "IPC$": "IPC$" is a section ksmbd reserves for itself; rename the share',
    'h1: ksmbd_shares[6].name = "new\\nline": a share name cannot contain control characters (newline, tab, ...); rename the share',
    `h1: ksmbd_shares[7].name = "a/b": a share name cannot contain "/" or "\\": the client's //server/share path would end there; rename the share`,
    'h1: ksmbd_shares[8].name: "name" is required; rename the share',
    'h1: ksmbd_shares[9].path = "/a/ ": ksmbd strips leading blanks and keeps trailing ones, so the value would not be read as written; give the absolute path of the shared directory',
    'h1: ksmbd_shares[9].read_only = "maybe": "read_only" is a boolean; use true/false or "yes"/"no" (ksmbd reads any value not starting with yes, 1, true or enable as "no", so "on" would silently mean no)',
    'h1: ksmbd_shares[9].write_list = "alice": must be a list, found a string; write e.g. [alice, "@staff"]',
    'h1: ksmbd_shares[10].name = "DATA": same share as ksmbd_shares[1] (share names are case-insensitive); give each share a distinct name',
  ]);
});

t.test('ksmbd_shares: unicode names up to 63 bytes; casefold duplicates', async (t) => {
  t.same(errors({ ksmbd_shares: [{ name: 'données ☃', path: '/srv/d' }, { name: 'é'.repeat(31), path: '/srv/e' }] }), []);
  t.match(errors({ ksmbd_shares: [{ name: 'Straße', path: '/a' }, { name: 'STRASSE', path: '/b' }] }), ['h1: ksmbd_shares[1].name = "STRASSE": same share as ksmbd_shares[0]']);
  t.same(errors({ ksmbd_shares: { name: 'x' } }), ['h1: ksmbd_shares = {"name":"x"}: must be a list of shares, found a mapping; write ksmbd_shares: [{ name: data, path: /srv/data }]']);
});

t.test('smb_mounts: server, share, user, dialect, options, duplicates', async (t) => {
  t.same(errors({ smb_mounts: [
    { server: 'srv2', share: 'dat', path: '/mnt/d', user: 'alice', vers: '2.1' },
    { server: 'srv1', share: 'dat', path: '/mnt/e', user: 'alicia', vers: 3, options: ['password=x', 'cache=none,username=root', 'rdma', 'a b', 'Credentials=/x', 'seal', 'addr=1.2.3.4', 'vers=3.0'] },
    { server: 'srv1', share: 'data', path: 'mnt', user: 'alice', vers: '1.0', sael: true },
    { server: 'srv1', share: 'data', path: '/', user: 'alice', vers: 2 },
    { server: 'srv1', share: 'data', path: '/mnt/x', user: 'alice', vers: 'default', seal: 'sure' },
    { server: 'srv1', share: 'scratch', path: '/mnt/x/', user: 'bob', vers: '3.5' },
    { share: 'data', path: '/mnt/y', user: 'bob', options: 'cache=none' },
  ] }), [
    'h1: smb_mounts[0].server = "srv2": not a host of group smb_servers; did you mean "srv1"? known servers: srv1',
    'h1: smb_mounts[0].vers = "2.1": SMB Direct requires Version >=3.0 (the kernel refuses rdma with an older dialect); use "3.1.1" (the default), "3.02", "3.0" or "3"',
    'h1: smb_mounts[1].share = "dat": server srv1 has no such share in ksmbd_shares; did you mean "data"? shares there: data, Scratch',
    'h1: smb_mounts[1].user = "alicia": not a user in ksmbd_users of server srv1; did you mean "alice"? add it there or pick one of: alice, bob',
    'h1: smb_mounts[1].vers = 3: ambiguous once YAML has read it: 3 and 3.0 both arrive as the number 3 ("3" means 3.0 or later, "3.0" exactly 3.0); quote it: "3.1.1", "3.0" or "3"',
    'h1: smb_mounts[1].options[0]: passwords are never accepted in mount options: they would be stored in the inventory and fstab; remove it: the password comes from ksmbd_users (password_file/password_env) through the credentials file',
    'h1: smb_mounts[1].options[1] = "cache=none,username=root": one option per entry: a "," would let one entry smuggle in more options (and credentials); split it into several list entries',
    'h1: smb_mounts[1].options[2] = "rdma": "rdma" is managed by smbdirect-provision: rdma is always set; remove it from options',
    'h1: smb_mounts[1].options[3] = "a b": an option cannot contain blanks or control characters; remove them',
    'h1: smb_mounts[1].options[4] = "Credentials=/x": "credentials=" is managed by smbdirect-provision: smbdirect-provision writes and names the credentials file; remove it from options',
    'h1: smb_mounts[1].options[5] = "seal": "seal" is managed by smbdirect-provision: use smb_mounts[].seal: true; remove it from options',
    'h1: smb_mounts[1].options[6] = "addr=1.2.3.4": "addr=" is managed by smbdirect-provision: the server address and share come from the inventory and smb_mounts[].server/share; remove it from options',
    'h1: smb_mounts[1].options[7] = "vers=3.0": "vers=" is managed by smbdirect-provision: use smb_mounts[].vers; remove it from options',
    'h1: smb_mounts[2].sael = true: unknown mount field; did you mean "seal"? the fields are: server, share, path, user, vers, options, seal',
    'h1: smb_mounts[2].path = "mnt": the path must be absolute (start with "/"); fix the value',
    'h1: smb_mounts[2].vers = "1.0": SMB Direct requires Version >=3.0 (the kernel refuses rdma with an older dialect); use "3.1.1" (the default), "3.02", "3.0" or "3"',
    'h1: smb_mounts[3].path = "/": cannot mount over "/"; fix the value',
    'h1: smb_mounts[3].vers = 2: SMB Direct requires Version >=3.0 (the kernel refuses rdma with an older dialect); use "3.1.1" (the default), "3.02", "3.0" or "3"',
    'h1: smb_mounts[4].vers = "default": SMB Direct requires Version >=3.0 (the kernel refuses rdma with an older dialect); use "3.1.1" (the default), "3.02", "3.0" or "3"',
    'h1: smb_mounts[4].seal = "sure": "seal" is a boolean; use true/false or "yes"/"no" (ksmbd reads any value not starting with yes, 1, true or enable as "no", so "on" would silently mean no)',
    'h1: smb_mounts[5].vers = "3.5": not a cifs dialect usable with rdma (3, 3.0, 3.02, 3.0.2, 3.1.1, 3.11); did you mean "3.0"? use "3.1.1" (the default)',
    'h1: smb_mounts[6].server: "server" is required; set server',
    'h1: smb_mounts[6].options = "cache=none": must be a list of cifs options, one per entry, found a string; write e.g. options: [cache=none, "max_channels=4"]',
  ]);
  t.same(errors({ smb_mounts: [
    { server: 'srv1', share: 'data', path: '/mnt/x', user: 'alice' },
    { server: 'srv1', share: 'scratch', path: '/mnt/x/', user: 'bob' },
  ] }), ['h1: smb_mounts[1].path = "/mnt/x": same mount point as smb_mounts[0]; give each mount its own directory']);
  t.same(errors({ smb_mounts: [{ server: 'srv1', share: 'data', path: '/mnt/x', user: 'alice' }] }, { host: 'c1', servers: {} }), [
    'c1: smb_mounts[0].server = "srv1": not a host of group smb_servers; add the server to group smb_servers in the inventory',
  ]);
});

t.test('smb_mounts: seal warns and does not fail; unknown shares/users pass when the server is not described', async (t) => {
  const r = validateSmbVars({ smb_mounts: [{ server: 'srv1', share: 'anything', path: '/mnt/x', user: 'zoe', seal: true }] }, { host: 'c1', servers: { srv1: { address: '10.0.0.1' } } });
  t.same(r.errors, []);
  t.same(r.warnings.map(formatProblem), [`c1: smb_mounts[0].seal = true: seal disables RDMA read/write offload: most of SMB Direct's gain is lost; leave seal off unless the RDMA network is untrusted`]);
  t.equal(r.model?.mounts[0]?.seal, true);
});

t.test('password-looking values are never echoed, wherever they are put', async (t) => {
  const e = errors({
    ksmbd_global: { password: 'G-secret' },
    ksmbd_users: [{ name: 'alice', passwd: 'U-secret', password_env: 'A' }],
    ksmbd_shares: [{ name: 'd', path: '/d', password: 'S-secret' }],
    smb_mounts: [{ server: 'srv1', share: 'data', path: '/mnt/x', user: 'alice', password: 'M-secret', options: ['cache=none,pass=O-secret', 'PASSWORD2=P-secret'] }],
  });
  t.equal(e.length, 6);
  t.notMatch(e.join('\n'), /secret/);
  t.match(e, ['h1: ksmbd_global["password"]: unknown ksmbd [global] parameter "password";', 'h1: ksmbd_users[0].passwd: passwords are never accepted in vars']);
});

t.test('a misspelled variable name is an error with a suggestion; other teams\' variables and our internal ones stay quiet', async (t) => {
  const vars = { ksmbd_share: [], smb_mount: [], inventory_hostname: 'h1', ansible_host: '10.0.0.1', rdma_links: [], storage_packages: [],
    smbdirect_server_address: '10.0.0.2', smbdirect_modules_cache: '/c', smb_servers: 1, smb_clients: 1, smbdirect_cluster: { servers: {} },
    smbdirect_role: 'server', smbdirect_fragment_dir: '/k', smbdirect_known_hosts: '/kh', smbdirect_ssh_client: 'openssh', smbdirect_modules_built: true,
    smbdirect_private_address: '10.0.0.3', smbdirect_lab_kernel_release: '6.1.0', smbdirect_var_origins: {} };
  t.same(errors(vars), [
    'h1: ksmbd_share: not a variable smbdirect-provision knows (a typo would silently provision nothing); did you mean "ksmbd_shares"? rename it',
    'h1: smb_mount: not a variable smbdirect-provision knows (a typo would silently provision nothing); did you mean "smb_mounts"? rename it',
  ]);
  t.same(warnings(vars), []);
  t.equal(validateSmbVars(vars, ctx).model, undefined, 'no model: the host fails before any change');
});

t.test('a variable with our prefix that is none of ours is refused however far from a known name, saying where it was set (#16)', async (t) => {
  const origins = { smb_mount_list: '/inv/group_vars/smb_clients.yml', smbdirect_rdma_links: '-e (extra vars)', ksmbd_share: '/inv/hosts.yml (vars of group all)' };
  const vars = { ...base, smb_mount_list: [], smbdirect_rdma_links: [], smbdirect_packages: [], ksmbd_workgroup_name: 'LAB', ksmbd_share: [], smbdirect_var_origins: origins };
  t.same(errors(vars), [
    'h1: smb_mount_list: not a variable smbdirect-provision knows (set in /inv/group_vars/smb_clients.yml): names starting with smb_ are ours, and nothing reads this one; did you mean "smb_mounts"? the smb_ variables are smb_mounts: rename it, or remove it',
    'h1: smbdirect_rdma_links: not a variable smbdirect-provision knows (set in -e (extra vars)): names starting with smbdirect_ are ours, and nothing reads this one; did you mean "smbdirect_rdma_mode"? the smbdirect_ variables are smbdirect_kernel_policy, smbdirect_rdma_mode, smbdirect_rdma_netdev, smbdirect_rdma_link_name, smbdirect_fragment_dir, smbdirect_known_hosts, smbdirect_ssh_client, smbdirect_probe_size_mib, smbdirect_probe_tool: rename it, or remove it',
    'h1: smbdirect_packages: not a variable smbdirect-provision knows: names starting with smbdirect_ are ours, and nothing reads this one; the smbdirect_ variables are smbdirect_kernel_policy, smbdirect_rdma_mode, smbdirect_rdma_netdev, smbdirect_rdma_link_name, smbdirect_fragment_dir, smbdirect_known_hosts, smbdirect_ssh_client, smbdirect_probe_size_mib, smbdirect_probe_tool: rename it, or remove it',
    'h1: ksmbd_workgroup_name: not a variable smbdirect-provision knows: names starting with ksmbd_ are ours, and nothing reads this one; the ksmbd_ variables are ksmbd_global, ksmbd_shares, ksmbd_users: rename it, or remove it',
    'h1: ksmbd_share: not a variable smbdirect-provision knows (set in /inv/hosts.yml (vars of group all); a typo would silently provision nothing); did you mean "ksmbd_shares"? rename it',
  ]);
});

t.test('serverInfo gives clients the names they may use', async (t) => {
  const model = validateSmbVars({ ...base, ksmbd_shares: [{ name: 'data', path: '/srv/data' }] }, ctx).model!;
  t.same(serverInfo('10.0.0.1', model), { address: '10.0.0.1', shares: ['data'], users: ['alice', 'bob'] });
});
