// The tests are TypeScript under the project's strict options too: tap runs them without type
// checks, so an unchecked test could compare against undefined and pass. tsc over tsconfig.test.json
// (the code, the tasks, the bench and the tests; nothing emitted) must report no error.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.test.json'], { cwd: root, encoding: 'utf8' });
const errors = (r.stdout + r.stderr).split('\n').filter((l) => /error TS\d+/.test(l));
t.same(errors, [], 'no type error in src, tasks, bench or test');
t.equal(r.status, 0, `tsc exit status (${r.stderr.trim() || 'no stderr'})`);
