import t from 'tap';
import { kconfigFragment, kconfigGaps, requiredSymbols } from '../src/smb/kconfig-fragment.js';

t.test('requiredSymbols: dependency closure per role and RDMA mode', async (t) => {
  t.same(requiredSymbols('server', 'siw').map((r) => `${r.symbol}=${r.want}${r.optional ? '?' : ''}`), ['INFINIBAND=m', 'INFINIBAND_ADDR_TRANS=y', 'SMB_SERVER=m', 'SMB_SERVER_SMBDIRECT=y', 'RDMA_SIW=m', 'INFINIBAND_USER_ACCESS=m?']);
  t.same(requiredSymbols('client', 'rxe').map((r) => r.symbol), ['INFINIBAND', 'INFINIBAND_ADDR_TRANS', 'CIFS', 'CIFS_SMB_DIRECT', 'RDMA_RXE', 'INFINIBAND_USER_ACCESS']);
  t.same(requiredSymbols('client', 'hardware').map((r) => r.symbol), ['INFINIBAND', 'INFINIBAND_ADDR_TRANS', 'CIFS', 'CIFS_SMB_DIRECT', 'INFINIBAND_USER_ACCESS']);
  t.equal(requiredSymbols('client', 'siw').find((r) => r.symbol === 'CIFS_SMB_DIRECT')?.why, 'CONFIG_CIFS_SMB_DIRECT missing: this host can mount SMB shares, not over RDMA');
  t.equal(requiredSymbols('server', 'siw').find((r) => r.symbol === 'SMB_SERVER_SMBDIRECT')?.why, 'CONFIG_SMB_SERVER_SMBDIRECT missing: this host can serve SMB, but not over RDMA');
});

// Debian 12 (6.1) per docs/domain-notes.md section 1: SMB_SERVER=m, SMBDIRECT not set, RXE=m, SIW not set.
const debian12 = { INFINIBAND: 'm', INFINIBAND_ADDR_TRANS: 'y', INFINIBAND_USER_ACCESS: 'm', SMB_SERVER: 'm', SMB_SERVER_SMBDIRECT: 'not set', CIFS: 'm', CIFS_SMB_DIRECT: 'not set', RDMA_RXE: 'm', RDMA_SIW: 'not set' };

t.test('kconfigGaps: what a Debian 12 kernel lacks', async (t) => {
  t.same(kconfigGaps(requiredSymbols('server', 'siw'), debian12).map((r) => r.symbol), ['SMB_SERVER_SMBDIRECT', 'RDMA_SIW']);
  t.same(kconfigGaps(requiredSymbols('client', 'rxe'), debian12).map((r) => r.symbol), ['CIFS_SMB_DIRECT']);
  t.same(kconfigGaps(requiredSymbols('client', 'rxe'), { ...debian12, CIFS_SMB_DIRECT: 'y' }), []);
  t.same(kconfigGaps(requiredSymbols('server', 'hardware'), { ...debian12, SMB_SERVER_SMBDIRECT: 'm' }).map((r) => r.symbol), ['SMB_SERVER_SMBDIRECT'], 'a bool is only satisfied by y');
  const builtIn = kconfigGaps(requiredSymbols('server', 'hardware'), { ...debian12, SMB_SERVER: 'y', SMB_SERVER_SMBDIRECT: 'y' });
  t.same(builtIn.map((r) => `${r.symbol}=${r.want}`), ['INFINIBAND=y']);
  t.equal(builtIn[0]?.why, 'CONFIG_INFINIBAND is a module but CONFIG_SMB_SERVER is built in: Kconfig then offers SMB Direct only with INFINIBAND=y');
  t.same(kconfigGaps(requiredSymbols('server', 'siw'), {}).length, 6, 'unknown config: everything is a gap');
});

t.test('kconfigFragment: a merge_config.sh fragment, deterministic and deduplicated', async (t) => {
  const frag = kconfigFragment(['CONFIG_RDMA_SIW=m', 'SMB_SERVER_SMBDIRECT', 'INFINIBAND', 'INFINIBAND_ADDR_TRANS=y', 'SMB_SERVER=m', 'RDMA_SIW']);
  t.equal(frag, [
    '# Kernel options for SMB Direct, written by smbdirect-provision.',
    '# Merge: scripts/kconfig/merge_config.sh .config THIS_FILE && make olddefconfig',
    '# without INFINIBAND: no RDMA stack at all (ib_core), so no SMB Direct',
    'CONFIG_INFINIBAND=m',
    '# without INFINIBAND_ADDR_TRANS: no RDMA connection manager (rdma_cm), which SMB Direct connects through',
    'CONFIG_INFINIBAND_ADDR_TRANS=y',
    '# without SMB_SERVER: this host cannot serve SMB at all (no ksmbd module)',
    'CONFIG_SMB_SERVER=m',
    '# without SMB_SERVER_SMBDIRECT: this host can serve SMB, but not over RDMA',
    'CONFIG_SMB_SERVER_SMBDIRECT=y',
    '# without RDMA_SIW: no soft iWARP (siw), which smbdirect_rdma_mode siw needs',
    'CONFIG_RDMA_SIW=m',
    '',
  ].join('\n'));
  t.notMatch(frag, /^# CONFIG_\w+ is not set$/m, 'no line merge_config.sh would read as "unset"');
  t.equal(kconfigFragment(kconfigGaps(requiredSymbols('client', 'rxe'), debian12)), kconfigFragment(['CIFS_SMB_DIRECT']));
  t.match(kconfigFragment(['MLX5_INFINIBAND=m']), /\nCONFIG_MLX5_INFINIBAND=m\n$/);
  t.throws(() => kconfigFragment(['MLX5_INFINIBAND']), { message: 'no default value for MLX5_INFINIBAND: write MLX5_INFINIBAND=y or =m' });
  t.throws(() => kconfigFragment(['rm -rf /']), { message: 'not a kernel option: "rm -rf /" (write SYMBOL, SYMBOL=y or CONFIG_SYMBOL=m)' });
});
