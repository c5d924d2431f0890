// Proof helper: node scripts/vm-lab.mjs up|down|status [--no-modules]   (after `npx tsc -p .`)
import { vmLabUp, vmLabDown, vmLabStatus } from '../dist/src/lab/vm.js';
const t0 = Date.now();
const log = (l) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${l}`);
const cmd = process.argv[2];
const modules = !process.argv.includes('--no-modules');
if (cmd === 'up') console.log(await vmLabUp({ log, modules }));
else if (cmd === 'down') await vmLabDown({ log });
else if (cmd === 'status') console.log(JSON.stringify(await vmLabStatus({}), null, 2));
else { console.error('usage: vm-lab.mjs up|down|status [--no-modules]'); process.exit(2); }
