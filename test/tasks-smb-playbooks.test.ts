import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { YAML } from 'zx';
import { loadPlaybook } from '../src/playbook.js';
import { RELOAD_KSMBD, RESTART_KSMBD, DAEMON_RELOAD } from '../src/smb/handlers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PLAYBOOKS = ['server', 'client', 'verify', 'site', 'teardown', 'probe'];

t.test('every task of every playbook is a file tasks/NAME.ts', async (t) => {
  for (const name of PLAYBOOKS) {
    const plays = YAML.parse(readFileSync(`${root}playbooks/${name}.yml`, 'utf8')) as Array<{ hosts: string; vars?: Record<string, unknown>; tasks: string[] }>;
    t.ok(Array.isArray(plays) && plays.length > 0, `${name}: a list of plays`);
    for (const play of plays) {
      if (play.hosts !== 'smb_servers:smb_clients') t.match(play.vars?.smbdirect_role, /^(server|client)$/, `${name}: ${play.hosts} sets smbdirect_role`);
      for (const task of play.tasks) t.ok(existsSync(`${root}tasks/${task}.ts`), `${name}: tasks/${task}.ts`);
      if (play.tasks.includes('smbdirect/validate')) t.equal(play.tasks[0], 'smbdirect/validate', `${name}: validate first`);
    }
  }
});

t.test('site.yml repeats server.yml, client.yml and verify.yml in that order', async (t) => {
  const read = (n: string) => YAML.parse(readFileSync(`${root}playbooks/${n}.yml`, 'utf8')) as unknown[];
  t.same(read('site'), [...read('server'), ...read('client'), ...read('verify')]);
});

t.test('playbooks load through the engine (compiled tasks in dist/)', async (t) => {
  if (!existsSync(`${root}dist/tasks/smbdirect/validate.js`)) throw new Error('dist/ missing: run npx tsc -p . before the tests');
  for (const name of PLAYBOOKS) {
    const pb = await loadPlaybook(name);
    t.ok(pb.plays.every((p) => p.tasks.length > 0), `${name} loads`);
  }
  const [server, client] = (await loadPlaybook('site')).plays;
  t.same([...server!.handlers.keys()].sort(), [DAEMON_RELOAD, RELOAD_KSMBD, RESTART_KSMBD].sort(), 'every notified handler is defined in the server play');
  t.ok(client!.handlers.has(DAEMON_RELOAD));
  const teardown = (await loadPlaybook('teardown')).plays;
  t.ok(teardown.every((p) => p.handlers.has(DAEMON_RELOAD)));
});

t.test('verify-roles: one play verifies servers and clients, roles from group_names', async (t) => {
  const { rolesOf } = await import('../tasks/smbdirect/verify-roles.js');
  t.same(rolesOf({ group_names: ['all', 'smb_servers'] }), ['server']);
  t.same(rolesOf({ group_names: ['smb_clients', 'smb_servers'] }), ['client', 'server']);
  t.same(rolesOf({ group_names: ['smb_servers'], smbdirect_role: 'client' }), ['client']);
  t.same(rolesOf({ group_names: ['other'] }), []);
});
