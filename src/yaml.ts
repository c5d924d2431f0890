// The yaml package, from the one file scripts/bundle-yaml.mjs makes of it at build time when that
// file is there for the installed version (#14): node loads the package's ~70 files one by one,
// ~0.05-0.09 s of CPU for every command that reads an inventory or a playbook. Without the file
// (a build by tsc alone, a test run from src/), the package itself, as before. All of our code
// takes yaml from here, so that one process never holds two copies of it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

type Yaml = typeof import('yaml');
const require = createRequire(import.meta.url);
const { version } = require('yaml/package.json') as { version: string };
const bundle = fileURLToPath(new URL(`../vendor/yaml-${version}.cjs`, import.meta.url));

export const YAML: Yaml = existsSync(bundle) ? require(bundle) : require('yaml');
