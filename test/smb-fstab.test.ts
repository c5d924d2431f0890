import t from 'tap';
import { fstabEntryMatches, fstabEscape, fstabLine, fstabUnescape, managedOptions, mergeFstab, parseMountLine, removeFromFstab } from '../src/smb/fstab.js';
import type { SmbMount } from '../src/smb/model.js';

const mount = (over: Partial<SmbMount> = {}): SmbMount => ({ server: 'srv1', share: 'data', path: '/mnt/data', user: 'alice', vers: '3.1.1', options: [], seal: false, ...over });
const CRED = '/etc/smbdirect-provision/credentials/srv1@alice';

t.test('fstab lines: source, mount point, managed options, user options last', async (t) => {
  t.equal(fstabLine(mount(), '10.0.2.15', CRED), `//10.0.2.15/data /mnt/data cifs vers=3.1.1,rdma,credentials=${CRED},_netdev,nofail 0 0`);
  t.equal(fstabLine(mount({ seal: true, options: ['cache=none', 'max_channels=4'] }), 'fd00::1', CRED), `//fd00::1/data /mnt/data cifs vers=3.1.1,rdma,credentials=${CRED},_netdev,nofail,seal,cache=none,max_channels=4 0 0`);
  t.same(managedOptions(mount({ vers: '3.0' }), CRED), ['vers=3.0', 'rdma', `credentials=${CRED}`, '_netdev', 'nofail']);
  t.throws(() => managedOptions(mount(), '/etc/a,b'), { message: 'bad credentials path "/etc/a,b": absolute, no blanks or commas' });
  t.throws(() => fstabLine(mount(), '10.0.0.1/x', CRED), { message: 'bad server address "10.0.0.1/x" for a cifs source' });
});

t.test('fstab fields escape space, tab, newline and backslash like getmntent expects; unicode passes', async (t) => {
  t.equal(fstabEscape('a b\tc\nd\\e'), 'a\\040b\\011c\\012d\\134e');
  t.equal(fstabUnescape('a\\040b\\011c\\012d\\134e'), 'a b\tc\nd\\e');
  const line = fstabLine(mount({ share: 'données ☃', path: '/mnt/my share' }), '10.0.0.1', CRED);
  t.equal(line, `//10.0.0.1/données\\040☃ /mnt/my\\040share cifs vers=3.1.1,rdma,credentials=${CRED},_netdev,nofail 0 0`);
  t.equal(line.split(' ').length, 6, 'still six fields');
  t.same(parseMountLine(line), { source: '//10.0.0.1/données ☃', target: '/mnt/my share', fstype: 'cifs', options: ['vers=3.1.1', 'rdma', `credentials=${CRED}`, '_netdev', 'nofail'] });
});

const FSTAB = `# /etc/fstab: static file system information.
UUID=1234 /               ext4    errors=remount-ro 0       1
UUID=abcd none            swap    sw              0       0

//old/thing /mnt/data cifs vers=2.1,credentials=/root/c 0 0
tmpfs /tmp tmpfs\tdefaults 0 0
`;

t.test('mergeFstab replaces our lines by mount point, keeps the rest byte-identical, is idempotent', async (t) => {
  const want = [fstabLine(mount(), '10.0.0.1', CRED), fstabLine(mount({ share: 'scratch', path: '/mnt/scratch' }), '10.0.0.1', CRED)];
  const once = mergeFstab(FSTAB, want, ['/mnt/data', '/mnt/scratch']);
  t.equal(once, FSTAB.replace('//old/thing /mnt/data cifs vers=2.1,credentials=/root/c 0 0', want[0]!) + `${want[1]}\n`);
  t.equal(mergeFstab(once, want, ['/mnt/data', '/mnt/scratch']), once, 'merge twice = merge once');
  t.equal(mergeFstab(once, want), once, 'wanted lines alone identify our mount points');
  t.equal(mergeFstab(FSTAB, []), FSTAB, 'nothing wanted, nothing managed: unchanged');
});

t.test('mergeFstab: no trailing newline, duplicates, trailing slash, CRLF neighbours, empty file', async (t) => {
  const want = fstabLine(mount(), '10.0.0.1', CRED);
  t.equal(mergeFstab('', [want]), `${want}\n`);
  t.equal(mergeFstab('proc /proc proc defaults 0 0', [want]), `proc /proc proc defaults 0 0\n${want}\n`);
  t.equal(mergeFstab(`//a/b /mnt/data/ cifs x 0 0\nkeep\r\n//a/b /mnt/data cifs y 0 0\n`, [want]), `${want}\nkeep\r\n`, 'first occurrence replaced, later duplicates dropped');
  const withOurs = `proc /proc proc defaults 0 0\n${want}`;
  t.equal(mergeFstab(withOurs, [want]), withOurs, 'already right (even without trailing newline): returned as is');
});

t.test('removeFromFstab takes out only the named mount points', async (t) => {
  const want = fstabLine(mount(), '10.0.0.1', CRED);
  const merged = mergeFstab(FSTAB, [want]);
  t.equal(removeFromFstab(merged, ['/mnt/data']), FSTAB.replace('//old/thing /mnt/data cifs vers=2.1,credentials=/root/c 0 0\n', ''));
  t.equal(removeFromFstab(FSTAB, ['/mnt/elsewhere']), FSTAB);
  t.equal(removeFromFstab(`${want}\n`, ['/mnt/data']), '');
});

t.test('fstabEntryMatches compares only what we manage and the kernel shows', async (t) => {
  const want = fstabLine(mount(), '10.0.2.15', CRED);
  // Captured on Debian 12 (6.1) with siw: the kernel adds many options and hides credentials/_netdev/nofail.
  const proc61 = '//10.0.2.15/data /mnt/data cifs rw,relatime,vers=3.1.1,cache=strict,username=alice,uid=0,noforceuid,gid=0,noforcegid,addr=10.0.2.15,file_mode=0755,dir_mode=0755,soft,nounix,serverino,mapposix,rdma,rsize=4194304,wsize=4194304,bsize=1048576,echo_interval=60,actimeo=1,closetimeo=1 0 0';
  t.ok(fstabEntryMatches(proc61, want));
  t.ok(fstabEntryMatches(proc61.replace('relatime', 'relatime,upcall_target=app,reparse=nfs'), want), '6.12 extras do not matter');
  t.ok(fstabEntryMatches(want, want));
  t.notOk(fstabEntryMatches(proc61.replace(',rdma', ''), want), 'mounted without rdma: not what we want');
  t.notOk(fstabEntryMatches(proc61.replace('vers=3.1.1', 'vers=3.0'), want));
  t.notOk(fstabEntryMatches(proc61.replace('/mnt/data', '/mnt/other'), want));
  t.notOk(fstabEntryMatches(proc61.replace('//10.0.2.15/data', '//10.0.2.16/data'), want));
  t.notOk(fstabEntryMatches(proc61.replace(',rdma', ',rdma,seal'), want), 'sealed but we want it unsealed');
  t.ok(fstabEntryMatches(proc61.replace('//10.0.2.15/data', '\\\\10.0.2.15\\DATA'), want), 'share names are case-insensitive; \\ = /');
  const sealed = fstabLine(mount({ seal: true, options: ['cache=none'] }), '10.0.2.15', CRED);
  t.notOk(fstabEntryMatches(proc61, sealed));
  t.ok(fstabEntryMatches(proc61.replace('cache=strict', 'cache=none,seal'), sealed));
  const any3 = fstabLine(mount({ vers: '3' }), '10.0.2.15', CRED);
  t.ok(fstabEntryMatches(proc61, any3), 'vers=3 accepts the negotiated 3.1.1');
  t.ok(fstabEntryMatches(proc61.replace('vers=3.1.1', 'vers=3.02'), fstabLine(mount({ vers: '3.0.2' }), '10.0.2.15', CRED)), 'aliases');
  t.notOk(fstabEntryMatches('# comment', want));
  t.notOk(fstabEntryMatches(proc61.replace(' cifs ', ' nfs '), want));
});
