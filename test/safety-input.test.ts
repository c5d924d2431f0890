// Safety, bad input: a corpus of broken inventories and variables, each run through the CLI for
// real (no --check) against one shared lab (1 server, 1 client), 4 cases at a time. Every case
// must stop with its exact error (which file/host/key, what to do) and the right exit code (1: the
// inventory cannot be loaded, 2: a host failed validation), and no case may touch a host: the
// files the playbooks manage are read from both hosts' roots before and after each case and must
// be equal, and the run must have made no apply round trip (exit 1: no connection at all; exit 2:
// the facts round trip only, and no result after the validate task). Then legal-but-odd values
// (blanks, quotes, $(), backticks, tabs, non-ASCII, CRLF/BOM password files, 63-byte unicode share
// names) work end to end.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson, startLab, tmp, type JsonRun } from './helpers/lab.js';
import { ntHash } from '../src/smb/md4.js';
import { snapshotHost, WATCHED } from './fixtures/safety/watch.js';

const lab = await startLab(t, 1, 1);
const hosts = ['srv01', 'cli01'];
const base = tmp('sd-safety-input-');
const inventoryYml = readFileSync(lab.inventory, 'utf8');
const ADDR = /srv01: \{ ansible_host: ([\d.]+) \}/.exec(inventoryYml)![1]!;
const PW = `pa'ss "wo$(rd)\`x\` ünï`;

const ALL = `smbdirect_kernel_policy: warn
smbdirect_fragment_dir: KCONF
ksmbd_users:
  - name: alice
    password_file: alice.pw
`;
const SERVERS = `ksmbd_shares:
  - name: data
    path: /srv/smb/data
`;
const CLIENTS = `smb_mounts:
  - server: srv01
    share: data
    path: /mnt/data
    user: alice
`;

interface Case {
  name: string;
  /** Files of the case's inventory dir, over the base ones; null deletes. */
  files?: Record<string, string | null>;
  /** After `run`; `-i INV` is added (INV = hosts.yml unless `inv`). */
  args: string[];
  inv?: string;
  code: number;
  match: RegExp[];
  env?: NodeJS.ProcessEnv;
}

const srvVars = (s: string) => ({ 'group_vars/smb_servers.yml': s });
const cliVars = (s: string) => ({ 'group_vars/smb_clients.yml': s });
const allVars = (s: string) => ({ 'group_vars/all.yml': s });
const share = (fields: string) => srvVars(`ksmbd_shares:\n  - ${fields.trim().split('\n').join('\n    ')}\n`);
const mount = (fields: string) => cliVars(`smb_mounts:\n  - ${fields.trim().split('\n').join('\n    ')}\n`);
const user = (fields: string) => allVars(`smbdirect_kernel_policy: warn\nksmbd_users:\n  - ${fields.trim().split('\n').join('\n    ')}\n`);
const SRV = ['server'];
const CLI = ['client'];
const Q = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cases: Case[] = [
  // ---- the inventory cannot be loaded: exit 1, before any connection ----
  { name: 'malformed YAML inventory', files: { 'hosts.yml': 'all:\n  children: [\n' }, args: ['site'], code: 1,
    match: [/hosts\.yml:\d+: YAML inventory is not valid YAML: .*Fix the YAML at that line/] },
  { name: 'malformed INI section header', files: { 'hosts.yml': null, 'hosts.ini': `[smb_servers\nsrv01 ansible_host=${ADDR}\n` }, inv: 'hosts.ini', args: ['site'], code: 1,
    match: [/hosts\.ini:1: invalid host range in "\[smb_servers": a "\[" without a closing "\]".*Close the range/] },
  { name: 'INI host line with an unclosed quote', files: { 'hosts.yml': null, 'hosts.ini': `[smb_servers]\nsrv01 ansible_host="${ADDR}\n` }, inv: 'hosts.ini', args: ['site'], code: 1,
    match: [/hosts\.ini:2: cannot parse host line .*no closing quotation.*Close every quote/] },
  { name: 'malformed YAML in group_vars', files: allVars('ksmbd_users:\n  - name: alice\n   password_file: alice.pw\n'), args: ['site'], code: 1,
    match: [/group_vars\/all\.yml:3: vars file is not valid YAML: .*Fix the YAML at that line/] },
  { name: 'hosts written as a YAML list', files: { 'hosts.yml': `all:\n  children:\n    smb_servers:\n      hosts:\n        - srv01\n` }, args: ['site'], code: 1,
    match: [/hosts\.yml:\d+: .*"hosts" of group "smb_servers" must be a mapping, found a list/] },
  { name: 'reversed host range', files: { 'hosts.yml': inventoryYml.replace('srv01: {', '"srv[5:1]": {') }, args: ['site'], code: 1,
    match: [/hosts\.yml:\d+: .*srv\[5:1\]/] },
  { name: 'Ansible Vault group_vars', files: allVars('$ANSIBLE_VAULT;1.1;AES256\n6162636465\n'), args: ['site'], code: 1,
    match: [/group_vars\/all\.yml:1: this vars file is encrypted with Ansible Vault, and no vault password was given.*--vault-password-file FILE/] },
  // Inventory scripts run (#13); one that lost its executable bit is neither run nor misread as INI.
  { name: 'inventory script that is not executable', files: { 'hosts.yml': null, inv: '#!/bin/sh\necho "{}"\n' }, inv: 'inv', args: ['site'], code: 1,
    match: [/inv:1: this file starts with "#!" like an inventory script, but it is not executable \(key: inv\)\. Make it executable \(chmod \+x [^)]*\/inv\)/] },
  { name: 'ansible_host with shell metacharacters', files: { 'hosts.yml': inventoryYml.replace(`ansible_host: ${ADDR}`, 'ansible_host: "x;touch /tmp/pwned"') }, args: ['site'], code: 1,
    match: [/host "srv01": ansible_host "x;touch \/tmp\/pwned" is not a host name or IP address \(key: ansible_host\)\. Set ansible_host to the host's DNS name or IP address/] },
  { name: 'host name with shell metacharacters and no ansible_host', files: { 'hosts.yml': inventoryYml.replace(`srv01: { ansible_host: ${ADDR} }`, '"srv01$(touch /tmp/pwned)": {}') }, args: ['site'], code: 1,
    match: [/host name "srv01\$\(touch \/tmp\/pwned\)" is used as its address \(no ansible_host\), but it is not a host name or IP address.*Rename the host, or set ansible_host/] },
  { name: 'ansible_port that is not a number', files: { 'hosts.yml': inventoryYml.replace(`ansible_host: ${ADDR}`, `ansible_host: ${ADDR}, ansible_port: "22; id"`) }, args: ['site'], code: 1,
    match: [/host "srv01": ansible_port "22; id" is not a port number \(key: ansible_port\)\. Set ansible_port to a whole number from 1 to 65535/] },
  { name: 'ansible_port out of range', files: { 'hosts.yml': inventoryYml.replace(`ansible_host: ${ADDR}`, `ansible_host: ${ADDR}, ansible_port: 70000`) }, args: ['site'], code: 1,
    match: [/host "srv01": ansible_port 70000 is not a port number/] },
  { name: '-e with broken JSON', args: ['site', '-e', '{"smbdirect_kernel_policy": '], code: 1,
    match: [/-e|extra/i] },
  { name: '-e @file that does not exist', args: ['site', '-e', '@/nonexistent/vars.yml'], code: 1,
    match: [/\/nonexistent\/vars\.yml/] },

  // ---- variables fail validation: exit 2, the host fails before any change ----
  { name: 'misspelled share field (did you mean)', files: share('name: data\npth: /srv/smb/data'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.pth = "\/srv\/smb\/data": unknown share field; did you mean "path"\?/, /srv01: ksmbd_shares\[0\]\.path: "path" is required; give the absolute path/] },
  { name: 'misspelled mount field (did you mean)', files: mount('sever: srv01\nshare: data\npath: /mnt/data\nuser: alice'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.sever = "srv01": unknown mount field; did you mean "server"\?/] },
  { name: 'misspelled user field (did you mean)', files: user('name: alice\npassword_fil: alice.pw'), args: SRV, code: 2,
    match: [/srv01: ksmbd_users\[0\]\.password_fil = "alice\.pw": unknown user field; did you mean "password_file"\?/] },
  { name: 'misspelled ksmbd_global key (did you mean)', files: srvVars(`${SERVERS}ksmbd_global:\n  workgrup: LAB\n`), args: SRV, code: 2,
    match: [/srv01: ksmbd_global\["workgrup"\].*did you mean "workgroup"\?/] },
  { name: 'misspelled top-level variable: an error with did you mean', files: srvVars(`ksmbd_share:\n  - name: data\n    path: /srv/smb/data\n`), args: SRV, code: 2,
    match: [/srv01: ksmbd_share: not a variable smbdirect-provision knows \(.*a typo would silently provision nothing\); did you mean "ksmbd_shares"\? rename it/] },
  { name: 'ksmbd_shares as a mapping', files: srvVars('ksmbd_shares:\n  name: data\n  path: /srv/smb/data\n'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares = \{"name":"data","path":"\/srv\/smb\/data"\}: must be a list of shares, found a mapping; write ksmbd_shares: \[/] },
  { name: 'boolean that is not a boolean', files: share('name: data\npath: /srv/smb/data\nread_only: maybe'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.read_only = "maybe": "read_only" is a boolean/] },
  { name: 'unquoted octal mode', files: share('name: data\npath: /srv/smb/data\nmode: 0755'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.mode = 493: .*quote it as 4 octal digits: "0644"/] },
  { name: 'unknown kernel policy', files: allVars(ALL.replace('policy: warn', 'policy: warnn')), args: SRV, code: 2,
    match: [/srv01: smbdirect_kernel_policy = "warnn": must be one of fail, warn, build-modules; did you mean "warn"\?/] },
  { name: 'rdma mode auto', files: srvVars(`${SERVERS}smbdirect_rdma_mode: auto\n`), args: SRV, code: 2,
    match: [/srv01: smbdirect_rdma_mode = "auto": there is no "auto": .*; choose hardware, siw \(the default\) or rxe/] },
  { name: 'misspelled rdma mode', files: srvVars(`${SERVERS}smbdirect_rdma_mode: siww\n`), args: SRV, code: 2,
    match: [/srv01: smbdirect_rdma_mode = "siww": must be one of hardware, siw, rxe; did you mean "siw"\?/] },
  { name: 'RDMA link name with a blank', files: srvVars(`${SERVERS}smbdirect_rdma_link_name: siw 0\n`), args: SRV, code: 2,
    match: [/srv01: smbdirect_rdma_link_name = "siw 0": an RDMA link name is 1-63 letters, digits/] },
  { name: 'fewer RDMA link names than netdevs', files: srvVars(`${SERVERS}smbdirect_rdma_netdev: [eth1, eth2]\nsmbdirect_rdma_link_name: [siw0]\n`), args: SRV, code: 2,
    match: [/srv01: smbdirect_rdma_link_name = \["siw0"\]: 1 name\(s\) for the 2 interface\(s\) of smbdirect_rdma_netdev; give one name per interface/] },
  { name: 'missing share path', files: share('name: data'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.path: "path" is required; give the absolute path of the shared directory/] },
  { name: 'missing mount user', files: mount('server: srv01\nshare: data\npath: /mnt/data'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.user: "user" is required; set user/] },
  { name: 'duplicate mount points (after normalising)', files: cliVars(`${CLIENTS}  - server: srv01\n    share: data\n    path: /mnt//data/\n    user: alice\n`), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[1\]\.path = "\/mnt\/data": same mount point as smb_mounts\[0\]; give each mount its own directory/] },
  { name: 'duplicate share names ignoring case (Straße = STRASSE)', files: srvVars('ksmbd_shares:\n  - { name: Straße, path: /srv/a }\n  - { name: STRASSE, path: /srv/b }\n'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[1\]\.name = "STRASSE": same share as ksmbd_shares\[0\] \(share names are case-insensitive\)/] },
  { name: 'share name with ]', files: share('name: "da]ta"\npath: /srv/smb/data'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.name = "da\]ta": a share name cannot contain "\[" or "\]": ksmbd\.conf section headers are \[NAME\]; rename the share/] },
  { name: 'share name with a newline', files: share('name: "da\\nta"\npath: /srv/smb/data'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.name = "da\\nta": a share name cannot contain control characters/] },
  { name: 'share name with /', files: share('name: "da/ta"\npath: /srv/smb/data'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.name = "da\/ta": a share name cannot contain "\/" or "\\"/] },
  { name: 'share name over 63 bytes (32 x "é" = 64 bytes)', files: share(`name: "${'é'.repeat(32)}"\npath: /srv/smb/data`), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.name = "é+": a share name is 1-63 bytes of UTF-8; rename the share/] },
  { name: 'reserved share name', files: share('name: IPC$\npath: /srv/smb/data'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.name = "IPC\$": "IPC\$" is a section ksmbd reserves for itself/] },
  { name: 'relative share path', files: share('name: data\npath: srv/smb/data'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.path = "srv\/smb\/data": .*absolute.*; give the absolute path of the shared directory/] },
  { name: 'share path with a newline', files: share('name: data\npath: "/srv/smb/da\\nta"'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.path = "\/srv\/smb\/da\\nta": /] },
  { name: 'share path with ..', files: share('name: data\npath: /srv/../etc'), args: SRV, code: 2,
    match: [/srv01: ksmbd_shares\[0\]\.path = "\/srv\/\.\.\/etc": .*\.\./] },
  { name: 'relative mount point', files: mount('server: srv01\nshare: data\npath: mnt/data\nuser: alice'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.path = "mnt\/data": .*absolute/] },
  { name: 'mount point with a newline', files: mount('server: srv01\nshare: data\npath: "/mnt/da\\nta"\nuser: alice'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.path = "\/mnt\/da\\nta": /] },
  { name: 'mount over /', files: mount('server: srv01\nshare: data\npath: /\nuser: alice'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.path = "\/": cannot mount over "\/"/] },
  { name: 'password file with two lines', files: { 'alice.pw': 'first\nsecond\n' }, args: SRV, code: 2,
    match: [/srv01: .*alice.*line break/] },
  { name: 'password from the environment with a newline', files: user('name: alice\npassword_env: SAFETY_PW'), env: { SAFETY_PW: 'a\nb' }, args: SRV, code: 2,
    match: [/srv01: .*alice.*SAFETY_PW.*line break/] },
  { name: 'empty password file', files: { 'alice.pw': '\n' }, args: SRV, code: 2,
    match: [/srv01: .*alice.*empty/] },
  { name: 'password file that does not exist', files: { 'alice.pw': null }, args: SRV, code: 2,
    match: [/srv01: .*alice.*alice\.pw/] },
  { name: 'password variable not set', files: user('name: alice\npassword_env: SAFETY_UNSET_PW'), args: SRV, code: 2,
    match: [/srv01: .*alice.*SAFETY_UNSET_PW.*not set/] },
  { name: 'inline password refused', files: user(`name: alice\npassword: "${PW.replace(/"/g, '\\"')}"`), args: SRV, code: 2,
    match: [/srv01: ksmbd_users\[0\]\.password: .*password_file/] },
  { name: 'password in mount options refused', files: mount('server: srv01\nshare: data\npath: /mnt/data\nuser: alice\noptions: ["password=hunter2"]'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.options\[0\]: passwords are never accepted in mount options/] },
  { name: 'mount option smuggling a second option with ,', files: mount('server: srv01\nshare: data\npath: /mnt/data\nuser: alice\noptions: ["cache=none,uid=0"]'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.options\[0\] = "cache=none,uid=0": one option per entry/] },
  { name: 'user name with :', files: user('name: "al:ice"\npassword_file: alice.pw'), args: SRV, code: 2,
    match: [/srv01: ksmbd_users\[0\]\.name = "al:ice": .*":".*; choose another user name/] },
  { name: 'user name over 47 bytes', files: user(`name: ${'a'.repeat(48)}\npassword_file: alice.pw`), args: SRV, code: 2,
    match: [/srv01: ksmbd_users\[0\]\.name = "a{48}": .*47 bytes/] },
  { name: 'user name of 33-47 bytes: ksmbd takes it, useradd does not', files: user(`name: ${'b'.repeat(40)}\npassword_file: alice.pw`), args: SRV, code: 2,
    match: [/srv01: ksmbd_users\[0\]\.name = "b{40}": a ksmbd user name is also a system user name .*useradd refuses names over 32 bytes; this one is 40; choose another user name/] },
  { name: 'rdma with vers below 3.0', files: mount('server: srv01\nshare: data\npath: /mnt/data\nuser: alice\nvers: "2.1"'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.vers = "2\.1": SMB Direct requires Version >=3\.0/] },
  { name: 'unquoted vers 3', files: mount('server: srv01\nshare: data\npath: /mnt/data\nuser: alice\nvers: 3'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.vers = 3: ambiguous once YAML has read it.*quote it/] },
  { name: 'smb3 encryption = yes', files: srvVars(`${SERVERS}ksmbd_global:\n  smb3 encryption: "yes"\n`), args: SRV, code: 2,
    match: [/srv01: ksmbd_global\["smb3 encryption"\] = "yes": /] },
  { name: 'multichannel switched off', files: srvVars(`${SERVERS}ksmbd_global:\n  server multi channel support: no\n`), args: SRV, code: 2,
    match: [/srv01: ksmbd_global\["server multi channel support"\]/] },
  { name: 'a client mount when the inventory has no servers', files: { 'hosts.yml': inventoryYml.replace(/    smb_servers:\n      hosts:\n.*\n/, '') }, args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.server = "srv01": not a host of group smb_servers; add the server to group smb_servers in the inventory/] },
  { name: 'a mount of a share the server does not have', files: mount('server: srv01\nshare: dta\npath: /mnt/data\nuser: alice'), args: CLI, code: 2,
    match: [/cli01: smb_mounts\[0\]\.share = "dta": server srv01 has no such share in ksmbd_shares; did you mean "data"\?/] },
];

const root = (h: string) => lab.root(h);
// Everything a play may write (WATCHED), and around it: all of /etc/ksmbd, the system users a
// server play creates, our config and state dirs, units, apt sources, the share and mount roots.
const AROUND = [...WATCHED, 'etc/ksmbd', 'etc/passwd', 'etc/group', 'etc/shadow', 'etc/smbdirect-provision',
  'etc/systemd/system', 'etc/modules-load.d', 'etc/apt/sources.list.d', 'var/lib/smbdirect-provision', 'srv', 'mnt', 'tmp/pwned'];
const snapshot = () => Object.fromEntries(hosts.map((h) => [h, snapshotHost(root(h), AROUND)]));
const before = Object.fromEntries(hosts.map((h) => [h, snapshotHost(root(h))]));
const VALIDATE = 'smbdirect: validate variables';

function caseDir(c: Case, i: number): string {
  const dir = join(base, `case${String(i).padStart(2, '0')}`);
  mkdirSync(join(dir, 'group_vars'), { recursive: true });
  const files: Record<string, string | null> = {
    'hosts.yml': inventoryYml,
    'alice.pw': `${PW}\n`,
    'group_vars/all.yml': ALL.replace('KCONF', join(dir, 'kconfig')),
    'group_vars/smb_servers.yml': SERVERS,
    'group_vars/smb_clients.yml': CLIENTS,
    ...c.files,
  };
  for (const [f, content] of Object.entries(files)) if (content !== null) writeFileSync(join(dir, f), content, { mode: 0o600 });
  return dir;
}

interface CaseRun { run: JsonRun; text: string; hostsBefore: Record<string, Record<string, string>>; hostsAfter: Record<string, Record<string, string>> }

/**
 * Runs the corpus with --json, 4 cases at a time, snapshotting both hosts before and after each
 * case. A case that changed a file did so while it ran, so between its own two snapshots: its
 * comparison fails (a case running beside it may fail too, but never instead of it).
 */
async function runAll(): Promise<CaseRun[]> {
  const out: CaseRun[] = new Array(cases.length);
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const dir = caseDir(c, i);
      const hostsBefore = snapshot();
      const run = await runJson(['run', ...c.args.slice(0, 1), '-i', join(dir, c.inv ?? 'hosts.yml'), ...c.args.slice(1)], c.env);
      // Every string of every result (messages, warnings, reports), unescaped, and stderr.
      const text = [run.stderr, ...run.results.flatMap((r) => Object.values(r).flat())].join('\n');
      out[i] = { run, text, hostsBefore, hostsAfter: snapshot() };
    }
  }));
  return out;
}

t.test(`bad input corpus (${cases.length} cases, no --check): exact errors, exit codes, no apply, no host touched`, async (t) => {
  const errorsSeen: Record<string, string[]> = {}; // what the product said: the text each case's first pattern finds
  const started = Date.now();
  const results = await runAll();
  t.comment(`corpus ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  cases.forEach((c, i) => {
    const { run: r, text, hostsBefore, hostsAfter } = results[i]!;
    (errorsSeen[c.match[0]!.exec(text)?.[0] ?? ''] ??= []).push(c.name);
    t.test(c.name, async (t) => {
      t.equal(r.code, c.code, `exit code\n${text.slice(-1500)}`);
      for (const m of c.match) t.match(text, m);
      t.notOk(text.includes(PW), 'the password is never shown');
      if (c.code === 1) {
        t.same(r.results, [], 'no task ran');
        t.same(r.roundTrips, {}, 'no host was connected to');
      } else {
        t.not(Object.keys(r.roundTrips).length, 0, 'the play reached its host');
        for (const [h, n] of Object.entries(r.roundTrips)) t.equal(n, 1, `${h}: the facts round trip only, no apply`);
        t.same(r.results.filter((x) => x.task !== 'Gathering Facts').map((x) => [x.host, x.task, x.status]),
          Object.keys(r.roundTrips).map((h) => [h, VALIDATE, 'failed']), 'validate failed, and no task after it has a result');
        for (const [h, s] of Object.entries(r.recap)) t.equal(s.changed, 0, `${h}: changed=0`);
      }
      for (const h of hosts) t.same(hostsAfter[h], hostsBefore[h], `${h}: files unchanged by this case`);
    });
  });
  // Not the corpus' own length: each case must end in an error of its own (none found twice, none
  // missing), and the product must have given at least 40 different ones.
  t.same(Object.entries(errorsSeen).filter(([e, names]) => !e || names.length > 1), [], 'every case ends in its own error');
  t.ok(Object.keys(errorsSeen).length >= 40, `${Object.keys(errorsSeen).length} different errors (at least 40)`);
  for (const h of hosts) t.same(snapshotHost(root(h)), before[h], `${h}: watched files unchanged after the whole corpus`);
  t.notOk(existsSync('/tmp/pwned'), 'no injected command ran on the controller');
  for (const h of hosts) t.notOk(existsSync(join(root(h), 'tmp/pwned')), `no injected command ran on ${h}`);
});

t.test('legal but odd values work end to end', async (t) => {
  // What smb-lab.test.ts does not cover: a password from the environment with blanks at both ends,
  // a tab, = , ; # and a backslash; a password file with a BOM and CRLF; a 63-byte unicode share
  // name; a share path and a mount point with quotes, $() and backticks; a 32-byte user name.
  const dir = join(base, 'odd');
  mkdirSync(join(dir, 'group_vars'), { recursive: true });
  const bobPw = ` \tb=o,b;#\\ "q" $(id) \`id\` ñ€😀 `;
  const carolPw = 'çarol\'s "pw" $HOME';
  const longUser = `u${'x'.repeat(31)}`; // 32 bytes: useradd's limit (see docs/reliability.md)
  const shareName = `${'ü'.repeat(31)}x`; // 63 bytes
  const sharePath = `/srv/smb/it's "odd" $(x) \`y\``;
  const mnt = `/mnt/q'uo"te $(x) \`y\``;
  writeFileSync(join(dir, 'hosts.yml'), inventoryYml);
  writeFileSync(join(dir, 'carol.pw'), `\ufeff${carolPw}\r\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'long.pw'), 'p'.repeat(128), { mode: 0o600 });
  writeFileSync(join(dir, 'group_vars/all.yml'), `smbdirect_kernel_policy: warn
smbdirect_fragment_dir: ${dir}/kconfig
ksmbd_users:
  - { name: bob, password_env: SAFETY_BOB_PW }
  - { name: carol, password_file: carol.pw }
  - { name: ${longUser}, password_file: long.pw }
`);
  writeFileSync(join(dir, 'group_vars/smb_servers.yml'), `ksmbd_shares:
  - name: "${shareName}"
    path: ${JSON.stringify(sharePath)}
    valid_users: [bob, carol, ${longUser}]
`);
  writeFileSync(join(dir, 'group_vars/smb_clients.yml'), `smb_mounts:
  - { server: srv01, share: "${shareName}", path: ${JSON.stringify(mnt)}, user: bob }
  - { server: srv01, share: "${shareName.toUpperCase()}", path: /mnt/carol, user: carol }
  - { server: srv01, share: "${shareName}", path: /mnt/long, user: ${longUser} }
`);
  const inv = join(dir, 'hosts.yml');
  const env = { SAFETY_BOB_PW: bobPw };
  const first = await runCli(['run', 'server', '-i', inv], { env });
  t.equal(first.code, 0, first.stdout.slice(-2500));
  const second = await runCli(['run', 'client', '-i', inv], { env });
  t.equal(second.code, 0, second.stdout.slice(-2500));
  for (const out of [first.stdout, first.stderr, second.stdout, second.stderr]) {
    for (const pw of [bobPw.trim(), carolPw, 'p'.repeat(128)]) t.notOk(out.includes(pw), 'no password in the output');
  }
  const srv = root('srv01');
  const conf = readFileSync(join(srv, 'etc/ksmbd/ksmbd.conf'), 'utf8');
  t.match(conf, `[${shareName}]\n`);
  t.match(conf, `path = ${sharePath}\n`);
  t.ok(statSync(join(srv, sharePath)).isDirectory(), 'the odd share path exists');
  const db = readFileSync(join(srv, 'etc/ksmbd/ksmbdpwd.db'), 'utf8');
  t.equal(db, [['bob', bobPw], ['carol', carolPw], [longUser, 'p'.repeat(128)]].map(([u, p]) => `${u}:${ntHash(p!).toString('base64')}\n`).join(''), 'NT hashes of the exact passwords (blanks kept, BOM and CRLF stripped)');
  const cli = root('cli01');
  const cred = (u: string) => readFileSync(join(cli, `etc/smbdirect-provision/credentials/srv01@${u}`), 'utf8');
  t.equal(cred('bob'), `username=bob\npassword=${bobPw}\n`);
  t.equal(cred('carol'), `username=carol\npassword=${carolPw}\n`);
  t.equal(cred(longUser), `username=${longUser}\npassword=${'p'.repeat(128)}\n`);
  const fstab = readFileSync(join(cli, 'etc/fstab'), 'utf8');
  t.match(fstab, `//${ADDR}/${shareName} /mnt/q'uo"te\\040$(x)\\040\`y\` cifs vers=3.1.1,rdma,credentials=/etc/smbdirect-provision/credentials/srv01@bob,_netdev,nofail 0 0\n`);
  t.ok(statSync(join(cli, mnt)).isDirectory(), 'the odd mount point exists');
  for (const pb of ['server', 'client']) {
    const again = await runJson(['run', pb, '-i', inv], env);
    t.equal(again.code, 0);
    for (const [h, s] of Object.entries(again.recap)) t.equal(s.changed, 0, `${pb} on ${h}: zero changes the second time`);
  }
  const down = await runJson(['run', 'teardown', '-i', inv], env);
  t.equal(down.code, 0, 'teardown');
  // Teardown removes the share directories we created only when empty (rmdir); everything else is back as it was.
  const config = WATCHED.filter((f) => f !== 'srv/smb');
  for (const h of hosts) t.same(snapshotHost(root(h), config), Object.fromEntries(Object.entries(before[h]!).filter(([k]) => !k.startsWith('srv/smb'))), `${h} back to its starting files`);
  t.notOk(existsSync(join(srv, sharePath)), 'the share directory we created, empty, is removed by teardown (#16 4b)');
  rmSync(base, { recursive: true, force: true });
});
