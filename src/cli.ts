#!/usr/bin/env node
// smbdirect: SMB Direct provisioning over SSH. One typed module per command under commands/.
// Start-up is kept small (#14): each command's implementation (zx, ssh2, handlebars, diff, the
// engine) is imported by its handler; --version and --help are answered without yargs, and so is
// a plain command line (fast-argv.ts); yargs parses the rest and words the usage errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);

/** Whether yargs would render `--help` as help-text.ts has it: English, 80 columns. */
function plainHelp(): boolean {
  // yargs' locale: the first of these set, up to a "." or ":"; y18n falls back to the language
  const env = process.env;
  const locale = (env.LC_ALL || env.LC_MESSAGES || env.LANG || env.LANGUAGE || 'en_US').replace(/[.:].*/, '');
  const columns = process.stdout.columns;
  return /^(en(_[A-Za-z]+)?|C|POSIX)$/.test(locale) && (!columns || columns >= 80);
}

if (args.length === 1 && args[0] === '--version') {
  // What yargs would print, without loading yargs (a third of a bare start-up).
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else if (args.length === 1 && args[0] === '--help' && plainHelp()) {
  process.stdout.write((await import('./commands/help-text.js')).HELP);
} else {
  // Before anything loads ssh2, handlebars, yaml or the bundle: their compiled code from earlier runs.
  const [{ installCodeCache }, { CACHE_ROOT }] = await Promise.all([import('./code-cache.js'), import('./paths.js')]);
  installCodeCache(join(CACHE_ROOT, 'code-cache', `${process.version}-${process.arch}`));
  // `run` from the build's one file of our code when it is up to date (run-bundle.ts), else as ES modules.
  const bundled = args[0] === 'run' ? await (await import('./run-bundle.js')).loadRunBundle() : undefined;
  const { installInterruptHandlers, main } = bundled ?? (await import('./main.js'));
  // Ctrl-C / SIGTERM: `run` winds down and prints its recap; other commands exit at once (#16).
  installInterruptHandlers();
  await main(args);
}
