import t from 'tap';
import { globalFingerprint, globalSection, ksmbdConfChange, renderKsmbdConf, splitKsmbdConf } from '../src/smb/ksmbd-conf.js';
import { validateSmbVars } from '../src/smb/vars.js';

const vars = {
  ksmbd_users: [{ name: 'alice', password_env: 'A' }, { name: 'bob', password_env: 'B' }],
  ksmbd_global: { workgroup: 'LAB', 'smb3 encryption': 'auto', 'server signing': 'auto', 'smbd max io size': '8MB', 'smb2 max read': '4MB', 'smb2 max write': '4MB', 'server min protocol': 'SMB3_00', 'tcp port': 445, 'max connections': 512, 'netbios name': 'FILER1', interfaces: ['eth1'], 'bind interfaces only': false },
  ksmbd_shares: [
    { name: 'data', path: '/srv/data', comment: 'RDMA scratch space', valid_users: ['alice', '@staff'], write_list: ['alice'], create_mask: '0664', directory_mask: '2775', browseable: true, veto_files: ['.DS_Store', '*.tmp'] },
    { name: 'Données ☃', path: '/srv/données', read_only: true, guest_ok: false, invalid_users: ['bob'], force_user: 'nobody', force_group: 'nogroup' },
  ],
};
const model = () => {
  const r = validateSmbVars(vars, { host: 'srv1' });
  if (!r.model) throw new Error(JSON.stringify(r.errors));
  return r.model;
};

/** What `vars` must render to: [global] keys sorted after the forced multichannel line, sizes in
 * ksmbd's units (8MB -> 8M), lists space- or slash-separated, a blank line between sections. */
const FULL = `# Managed by smbdirect-provision: local changes are overwritten on the next run.
# A change under [global] needs a restart of ksmbd; share changes only a reload.
[global]
\tserver multi channel support = yes
\tbind interfaces only = no
\tinterfaces = eth1
\tmax connections = 512
\tnetbios name = FILER1
\tserver min protocol = SMB3_00
\tserver signing = auto
\tsmb2 max read = 4M
\tsmb2 max write = 4M
\tsmb3 encryption = auto
\tsmbd max io size = 8M
\ttcp port = 445
\tworkgroup = LAB

[data]
\tpath = /srv/data
\tcomment = RDMA scratch space
\tread only = no
\tbrowseable = yes
\tvalid users = alice @staff
\twrite list = alice
\tcreate mask = 0664
\tdirectory mask = 2775
\tveto files = /.DS_Store/*.tmp/

[Données ☃]
\tpath = /srv/données
\tread only = yes
\tguest ok = no
\tinvalid users = bob
\tforce user = nobody
\tforce group = nogroup
`;

t.test('a full ksmbd.conf, rendered deterministically', async (t) => {
  const conf = renderKsmbdConf(model());
  t.matchSnapshot(conf, 'ksmbd.conf');
  t.equal(conf, FULL, 'the expected bytes, written out by hand');
  t.match(conf, /^# Managed by smbdirect-provision/);
  t.match(conf, /^\[global\]\n\tserver multi channel support = yes\n/m);
  t.ok(conf.endsWith('\n') && !conf.endsWith('\n\n'));
  t.notMatch(conf, /&#|&amp;|&quot;/, 'no HTML escaping');
});

t.test('the minimal config: only the forced global', async (t) => {
  const r = validateSmbVars({}, { host: 'srv1' });
  t.equal(renderKsmbdConf(r.model!), '# Managed by smbdirect-provision: local changes are overwritten on the next run.\n# A change under [global] needs a restart of ksmbd; share changes only a reload.\n[global]\n\tserver multi channel support = yes\n');
});

t.test('splitKsmbdConf reads a rendered file back to what it says', async (t) => {
  const split = splitKsmbdConf(renderKsmbdConf(model()));
  t.matchSnapshot(split, 'split of the rendered ksmbd.conf');
  t.equal(globalSection(model()), split.global);
});

const HAND = `; hand-written, ksmbd.addshare style
   [GLOBAL]
\tWorkgroup = LAB ; trailing comment
\tserver multi channel support = yes
\tnetbios name = FILER1
# a comment
[Data]   ; section comment
\tpath = /srv/data
\tread only = no
\tread only = yes
\tcomment =
[global]
\tsmb3 encryption = auto
\tworkgroup = IGNORED
[data]
\tcomment = continued section
`;

t.test('splitKsmbdConf follows ksmbd-tools rules on hand-written files', async (t) => {
  t.same(splitKsmbdConf(HAND), {
    global: 'netbios name = FILER1\nserver multi channel support = yes\nsmb3 encryption = auto\nworkgroup = LAB\n',
    shares: '[Data]\ncomment = continued section\npath = /srv/data\nread only = no\n',
  });
});

t.test('split ignores comments, blank lines, order, indentation and key case', async (t) => {
  const a = '[global]\n\tworkgroup = LAB\n\ttcp port = 445\n[s]\n\tpath = /a\n';
  const b = '# x\n\n[Global]\nTCP Port=445   \n  workgroup   =   LAB;c\n\n[s]\npath=/a\n';
  t.same(splitKsmbdConf(a), splitKsmbdConf(b));
  t.equal(globalFingerprint(a), globalFingerprint(b));
  t.equal(splitKsmbdConf('').global, '');
  t.same(splitKsmbdConf('orphan = 1\n[global]\nworkgroup = X\n'), { global: 'orphan = 1\nworkgroup = X\n', shares: '' }, 'keys before any section count as [global]');
});

t.test('ksmbdConfChange: restart for [global], reload for shares, none for cosmetics', async (t) => {
  const base = '[global]\n\tworkgroup = LAB\n[s]\n\tpath = /a\n';
  t.equal(ksmbdConfChange(undefined, base), 'restart');
  t.equal(ksmbdConfChange(base, base.replace('LAB', 'LAB2')), 'restart');
  t.equal(ksmbdConfChange(base, base.replace('/a', '/b')), 'reload');
  t.equal(ksmbdConfChange(base, `${base}[t]\n\tpath = /t\n`), 'reload');
  t.equal(ksmbdConfChange(base, `# comment\n${base.replace('\t', '    ')}`), 'none');
  t.equal(ksmbdConfChange(base, base.replace('[s]', '[S]')), 'reload', 'same share, new spelling: clients see the new name');
  const m = model();
  const before = renderKsmbdConf(m);
  const shareOnly = renderKsmbdConf({ ...m, shares: [...m.shares, { name: 'new', path: '/srv/new', readOnly: false, validUsers: [], invalidUsers: [], writeList: [] }] });
  t.equal(ksmbdConfChange(before, shareOnly), 'reload');
  const globalToo = renderKsmbdConf({ ...m, global: [...m.global, ['deadtime', '15']] });
  t.equal(ksmbdConfChange(before, globalToo), 'restart');
});
