// Where the project's own folders are, whether run from dist/ or through the bin link.
import { fileURLToPath } from 'node:url';

/** The package root: dist/src/paths.js sits two levels below it. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PLAYBOOKS_DIR = `${ROOT}playbooks`;
export const TEMPLATES_DIR = `${ROOT}templates`;
export const TASKS_DIST_DIR = `${ROOT}dist/tasks`;
