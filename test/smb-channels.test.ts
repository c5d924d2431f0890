// A cifs mount's channels and why not (src/smb/channels.ts, src/smb/mount-log.ts), on the
// per-kernel cases in test/fixtures/multichannel (README.md there: composed from the kernels'
// format strings until captures sit next to them), each read the way the facts read it: DebugData
// through the evidence fact's grep, dmesg through the dmesg fact's filter.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { Sections } from '../src/facts/fact.js';
import { evidence } from '../src/facts/evidence.js';
import { dmesg, DMESG_PATTERN } from '../src/facts/dmesg.js';
import { mounts } from '../src/facts/mounts.js';
import { systemOf, type SystemFacts } from '../src/facts/index.js';
import { parseDebugData } from '../src/smb/debugdata.js';
import { channelsText, multichannelVerdict, serverBlock, wantedChannels } from '../src/smb/channels.js';
import { channelLog, mountLog } from '../src/smb/mount-log.js';
import verify from '../tasks/smbdirect/verify.js';
import { loadFixtureFacts } from './fixtures/facts/index.js';

const DIR = new URL('./fixtures/multichannel/', import.meta.url);
const CASES = readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const read = (c: string, file: string): string => readFileSync(new URL(`${c}/${file}`, DIR), 'utf8');
const sections = (o: Record<string, string>) => new Sections(new Map(Object.entries(o)));

/** The case as the facts script would send it: the evidence grep (and its head) and the dmesg filter. */
function factsOf(c: string): Pick<SystemFacts, 'evidence' | 'dmesg' | 'mounts'> {
  const wanted = /grep -E '([^']*)' \$f \| head -n (\d+)/.exec(evidence.script);
  if (!wanted) throw new Error('the evidence script has no grep -E ... | head -n N');
  const grepped = execFileSync('grep', ['-E', wanted[1]!], { input: read(c, 'DebugData'), encoding: 'utf8' }).split('\n').slice(0, Number(wanted[2])).join('\n');
  const filtered = read(c, 'dmesg').split('\n').filter((l) => new RegExp(DMESG_PATTERN).test(l)).join('\n');
  return {
    evidence: evidence.parse(sections({ evidence: `debugdata yes\n${grepped}\n` })),
    dmesg: dmesg.parse(sections({ dmesg: `readable\n${filtered}\n`, 'dmesg.clock': 'uptime 900.5\nbtime 1780466890\n' })),
    mounts: mounts.parse(sections({ mounts: read(c, 'mounts') })),
  };
}

interface Expect { channels: string; multichannel: 'PASS' | 'FAIL' | null; detail?: string }

t.test('the fixture set covers every kernel and case the README promises', async (t) => {
  for (const k of ['6.1', '6.12', '7.3']) for (const c of ['two-rdma', 'no-support', 'connect-failed', 'one-rdma-iface', 'single']) t.ok(CASES.includes(`${k}-${c}`), `${k}-${c}`);
  t.ok(CASES.includes('6.1-no-interfaces') && CASES.includes('7.3-ipv6-entry'));
});

for (const c of CASES) {
  t.test(`${c}: channels and the multichannel verdict`, async (t) => {
    const expect = JSON.parse(read(c, 'expect.json')) as Expect;
    const f = factsOf(c);
    const [m] = f.mounts;
    const block = serverBlock(parseDebugData(f.evidence.lines.join('\n')), m!);
    t.ok(block, 'the mount is tied to its DebugData server block by Hostname');
    t.equal(channelsText(block!), expect.channels);
    const wanted = wantedChannels(m!.options);
    if (expect.multichannel === null) {
      t.equal(wanted, null, 'asks for one channel: no multichannel check');
      return;
    }
    const v = multichannelVerdict(block, mountLog(f.dmesg.lines, m!.source), wanted!, m!.source);
    t.equal(v.ok ? 'PASS' : 'FAIL', expect.multichannel, v.detail);
    t.match(v.detail, new RegExp(expect.detail!));
  });
}

t.test('DebugData: channel lines, the RDMA line, channels = 1 + Extra Channels, in all three forms', async (t) => {
  const six1 = parseDebugData(read('6.1-two-rdma', 'DebugData')).servers[0]!;
  t.match(six1, { hostname: '192.168.77.21', rdma: true, extraChannels: 1, channels: 2, advertised: 2, extra: [{ number: 2, disabled: false, disconnected: false }] });
  t.same(six1.interfaces.map((i) => [i.address, i.rdma, i.channels, i.connected]), [['192.168.77.21', true, 0, false], ['192.168.78.21', true, 1, true]]);
  t.match(parseDebugData(read('6.1-one-rdma-iface', 'DebugData')).servers[0]!.interfaces[1], { rdma: false, rss: false }, '6.1: nothing after "Capabilities: "');
  t.match(parseDebugData(read('6.12-one-rdma-iface', 'DebugData')).servers[0]!.interfaces[1], { rdma: false, rss: false }, '6.12: "Capabilities: None"');
  const single = parseDebugData(read('7.3-single', 'DebugData')).servers[0]!;
  t.match(single, { extraChannels: null, channels: 1, rdma: true, extra: [], advertised: null, smbDirect: { form: 'named', connected: true } });
  const odd = parseDebugData([
    '1) ConnectionId: 0x1 Hostname: srv', 'RDMA ', '\t\tExtra Channels: 2 ',
    '\t\tChannel: 2 ConnectionId: 0x5', '\t\tIn Send: 0 In MaxReq Wait: 0\tDISCONNECTED ', '\t\tChannel: 3 DISABLED',
    '2) ConnectionId: 0x2 Hostname: tcp-only',
  ].join('\n'));
  t.same(odd.servers[0]!.extra, [{ number: 2, disabled: false, disconnected: true }, { number: 3, disabled: true, disconnected: false }]);
  t.match(odd.servers[1], { hostname: 'tcp-only', rdma: false, channels: 1 });
  t.equal(channelsText(odd.servers[1]!), '1 channel, tcp');
});

t.test('the evidence grep keeps what the parser reads and stays small', async (t) => {
  for (const c of ['6.1-two-rdma', '6.12-two-rdma', '7.3-two-rdma']) {
    const grepped = parseDebugData(factsOf(c).evidence.lines.join('\n')).servers;
    const whole = parseDebugData(read(c, 'DebugData')).servers;
    t.same(grepped, whole, `${c}: the same servers, channels and interfaces from the grepped lines`);
  }
  const lines = factsOf('7.3-two-rdma').evidence.lines;
  t.notOk(lines.some((l) => /Number of credits|TCP status|Weight/.test(l)), 'per-channel counters are not sent');
  t.ok(lines.length <= 30, `${lines.length} lines for one two-channel server`);
});

t.test('dmesg: the filter keeps every channel line of each kernel, and channelLog reads them', async (t) => {
  const lines = [
    'CIFS: VFS: successfully opened new channel on iface:192.168.78.21', 'CIFS: successfully opened new channel on iface:192.168.78.21',
    'CIFS: VFS: failed to open extra channel on iface:192.168.78.21 rc=-2', 'CIFS: VFS: \\\\192.168.77.21 no multichannel support',
    'CIFS: VFS: multichannel is not supported on this protocol version, use 3.0 or above',
    'CIFS: VFS: too many channel open attempts (1 channels left to open)', 'CIFS: VFS: server 192.168.77.21 does not advertise interfaces',
    'CIFS: VFS: RDMA transport established',
  ];
  for (const l of lines) t.match(l, new RegExp(DMESG_PATTERN), l);
  const log = channelLog(lines.map((text, i) => ({ t: i, text })));
  t.same(log.opened.map((o) => o.address), ['192.168.78.21', '192.168.78.21'], 'VFS level (6.1) and info level (6.12, 7.3)');
  t.same(log.failed.map((f) => [f.address, f.rc]), [['192.168.78.21', -2]]);
  t.equal(log.established.length, 1);
  t.ok(log.noSupport && log.dialect && log.tooMany && log.noInterfaces);
  t.same(channelLog([{ t: 1, text: 'CIFS: VFS: smbd_post_send: something successfully opened new channel' }]).opened, [], 'only the line cifs prints');
});

t.test('the mount log: from the mount\'s own attempt to the next attempt', async (t) => {
  const all = [
    { t: 1, text: 'CIFS: Attempting to mount //srv/a' }, { t: 2, text: 'CIFS: VFS: RDMA transport established' },
    { t: 3, text: 'CIFS: Attempting to mount //srv/b' }, { t: 4, text: 'CIFS: VFS: RDMA transport established' }, { t: 5, text: 'CIFS: successfully opened new channel on iface:10.0.3.15' },
  ];
  t.same(mountLog(all, '//srv/a').lines.map((l) => l.t), [2]);
  t.same(mountLog(all, '\\\\SRV\\b').lines.map((l) => l.t), [4, 5], 'UNC slashes and case do not matter');
  t.same(mountLog(all, '//srv/c'), { attempt: null, lines: all }, 'rotated away: the whole log, and no attempt');
});

t.test('wanted channels from the options', async (t) => {
  t.equal(wantedChannels(['rdma', 'multichannel']), 2, 'multichannel alone means 2');
  t.equal(wantedChannels(['multichannel', 'max_channels=4']), 4);
  t.equal(wantedChannels([], ['max_channels=3']), 3, 'smb_mounts options count too');
  t.equal(wantedChannels(['rdma'], ['multichannel']), 2);
  t.equal(wantedChannels(['rdma', 'max_channels=1']), null);
  t.equal(wantedChannels(['multichannel', 'max_channels=1']), null, 'one channel asked (7.x refuses this at mount)');
  t.equal(wantedChannels(['rdma']), null);
});

t.test('verdicts the fixtures do not reach', async (t) => {
  const two = () => parseDebugData(read('7.3-two-rdma', 'DebugData')).servers[0]!;
  const log = (...text: string[]) => ({ attempt: { t: 0, text: 'CIFS: Attempting to mount //192.168.77.21/share' }, lines: text.map((x, i) => ({ t: i + 1, text: x })) });
  const EST = 'CIFS: VFS: RDMA transport established';
  const OPENED = 'CIFS: successfully opened new channel on iface:192.168.78.21';
  t.match(multichannelVerdict(two(), log(EST, OPENED), 2, '//192.168.77.21/share'), { ok: false, detail: /^2 channels, not all shown RDMA: 1 "RDMA transport established" line\(s\) since the mount for 2 channels$/ });
  t.match(multichannelVerdict(two(), log(EST, EST), 2, '//192.168.77.21/share'), { ok: false, detail: /0 "successfully opened new channel" line\(s\) for 1 extra channel/ });
  const tcp = two();
  tcp.interfaces[1]!.rdma = false;
  t.match(multichannelVerdict(tcp, log(EST, EST, OPENED), 2, '//x/share'), { ok: false, detail: /: channels on non-RDMA server interfaces 192\.168\.78\.21$/ });
  t.match(multichannelVerdict(two(), null, 2, '//x/share'), { ok: true, detail: '2 channels, all RDMA (RDMA interfaces in use: 192.168.77.21, 192.168.78.21; dmesg not readable: judged from DebugData alone)' });
  t.match(multichannelVerdict(two(), log(EST, EST, OPENED), 3, '//x/share'), { ok: false, detail: /^2 of 3 channels: no reason in the kernel log; echo 1 > \/proc\/fs\/cifs\/cifsFYI and remount/ });
  t.match(multichannelVerdict(two(), log(EST, 'CIFS: VFS: multichannel is not supported on this protocol version, use 3.0 or above'), 3, '//x/share'), { ok: false, detail: /^2 of 3 channels: the dialect is below SMB 3\.0/ });
  const one = parseDebugData(read('7.3-one-rdma-iface', 'DebugData')).servers[0]!;
  t.match(multichannelVerdict(one, log(EST), 2, '//x/share'), { ok: false, detail: /^1 of 2 channels: no reason in the kernel log; the server advertises 1 RDMA interface\(s\) .*; echo 1 > / }, 'the interface cross-check without a reason line');
  const refused = log(EST, 'CIFS: VFS: smbdirect_connect_sync(192.168.78.21:5445) failed with -111', 'CIFS: VFS: failed to open extra channel on iface:192.168.78.21 rc=-2');
  t.match(multichannelVerdict(one, refused, 2, '//x/share'), { ok: false, detail: /failed \(rc=-2\): "CIFS: VFS: failed to open extra channel on iface:192\.168\.78\.21 rc=-2"; last SMB Direct error: "CIFS: VFS: smbdirect_connect_sync\(192\.168\.78\.21:5445\) failed with -111"$/ });
  t.match(multichannelVerdict(null, log(EST), 2, '//10.9.9.9/share'), { ok: false, detail: 'no server block for 10.9.9.9 in /proc/fs/cifs/DebugData' });
  const reasons = [
    'CIFS: VFS: failed to open extra channel on iface:192.168.78.21 rc=-2',
    'CIFS: VFS: \\\\192.168.77.21 no multichannel support',
  ];
  t.match(multichannelVerdict(one, log(EST, ...reasons), 2, '//x/share').detail, /does not offer multichannel/, 'first match in the research order, not in log order');
});

t.test('verify: the multichannel check only for mounts that ask, the channels in every mount check', async (t) => {
  const MOUNTS = [
    { server: 'srv1', share: 'share', path: '/mnt/share', user: 'labuser', options: ['multichannel', 'max_channels=2'] },
    { server: 'srv1', share: 'projects', path: '/mnt/projects', user: 'labuser' },
  ];
  const plan = (c: string) => {
    const facts = loadFixtureFacts('rhel9');
    const sys = systemOf(facts);
    const f = factsOf(c);
    Object.assign(sys, { evidence: f.evidence, dmesg: { ...f.dmesg, lines: [...f.dmesg.lines, { t: 813, text: 'CIFS: Attempting to mount //192.168.77.21/projects' }, { t: 813.1, text: 'CIFS: VFS: RDMA transport established' }] } });
    sys.mounts = [...f.mounts, { ...f.mounts[0]!, source: '//192.168.77.21/projects', target: '/mnt/projects', options: f.mounts[0]!.options.filter((o) => !/channel/.test(o)) }];
    return verify.plan({ host: 'h1', vars: { inventory_hostname: 'h1', smbdirect_role: 'client', smb_mounts: MOUNTS }, facts, check: false });
  };
  const ok = plan('6.12-two-rdma');
  t.equal(ok.status, 'ok', ok.report ?? '');
  t.match(ok.report, /^mount \/mnt\/share +PASS +\/\/192\.168\.77\.21\/share vers=3\.1\.1,rdma, 2 channels, primary rdma$/m);
  t.match(ok.report, /^multichannel \/mnt\/share +PASS +2 channels, all RDMA \(extra: 1 on 192\.168\.78\.21\)$/m);
  t.match(ok.report, /^mount \/mnt\/projects +PASS +.*, 2 channels, primary rdma$/m, 'the same server block: the session is shared');
  t.notMatch(ok.report, /^multichannel \/mnt\/projects/m, 'no check for a mount that asks for one channel');
  const no = plan('6.12-no-support');
  t.equal(no.status, 'fail');
  t.match(no.report, /^multichannel \/mnt\/share +FAIL +1 of 2 channels: the server does not offer multichannel .*"CIFS: VFS: \\\\192\.168\.77\.21 no multichannel support"$/m);
  const elsewhere = [{ ...MOUNTS[0]!, path: '/mnt/other' }];
  const unmounted = verify.plan({ host: 'h1', vars: { inventory_hostname: 'h1', smbdirect_role: 'client', smb_mounts: elsewhere }, facts: loadFixtureFacts('rhel9'), check: false });
  t.match(unmounted.report, /^multichannel \/mnt\/other +SKIP +not mounted$/m);
});
