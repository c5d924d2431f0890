// Proof helper: builds (or finds cached) cifs/ksmbd/siw with SMB Direct for RELEASE.
// Usage: node scripts/vm-build-modules.mjs 6.1.0-56-amd64   (after `npx tsc -p .`)
import { buildSmbDirectModules } from '../dist/src/kernel/build-modules.js';
const t0 = Date.now();
const log = (l) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${l}`);
console.log(JSON.stringify(await buildSmbDirectModules({ release: process.argv[2], log }), null, 2));
