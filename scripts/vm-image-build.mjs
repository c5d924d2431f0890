// Proof helper: builds (or finds cached) the truth-tier VM image. Run after `npx tsc -p .`.
import { buildVmImage } from '../dist/src/lab/vm-image.js';
const t0 = Date.now();
const log = (l) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${l}`);
console.log(JSON.stringify(await buildVmImage({ log }), null, 2));
