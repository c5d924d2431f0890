// Templates are Handlebars with noEscape (HTML escaping corrupts config files) and strict
// (a missing variable is an error, not an empty string). Output always ends with one newline.
// A template precompiled at build time (dist/vendor/templates.cjs, scripts/precompile-templates.mjs)
// with the very source it is asked for is rendered by Handlebars' runtime alone: a run then loads
// no compiler and compiles nothing (#14). Any other source is compiled here, as before.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type HandlebarsNs from 'handlebars';
import { ROOT, TEMPLATES_DIR } from './paths.js';

type Env = typeof HandlebarsNs;
type Template = HandlebarsTemplateDelegate;
interface Precompiled { name: string; source: string; spec: TemplateSpecification }

/** Keep in step with scripts/precompile-templates.mjs. */
const COMPILE_OPTIONS = { noEscape: true, strict: true };
const PRECOMPILED = join(ROOT, 'dist', 'vendor', 'templates.cjs');

const require = createRequire(import.meta.url);

function withHelpers(hb: Env): Env {
  hb.registerHelper('yesno', (v: unknown) => (v === true || v === 'yes' ? 'yes' : 'no'));
  hb.registerHelper('join', (v: unknown, sep: unknown) => (Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ', ') : String(v)));
  return hb;
}

let compiler: Env | undefined;
let runtime: Env | undefined;
let precompiled: Map<string, TemplateSpecification> | undefined;

/** The build's precompiled templates, by source text (none when the file is missing or unreadable). */
function precompiledSpecs(): Map<string, TemplateSpecification> {
  if (!precompiled) {
    try {
      precompiled = new Map((require(PRECOMPILED) as Precompiled[]).map((p) => [p.source, p.spec]));
    } catch {
      precompiled = new Map();
    }
  }
  return precompiled;
}

/** The runtime from the build's one file (scripts/precompile-templates.mjs) when it is there for
 * the installed Handlebars, else from the package. */
function loadRuntime(): Env {
  const { version } = require('handlebars/package.json') as { version: string };
  try {
    return require(join(ROOT, 'dist', 'vendor', `handlebars-runtime-${version}.cjs`)) as Env;
  } catch {
    return require('handlebars/runtime') as Env;
  }
}

function compile(source: string): Template {
  const spec = precompiledSpecs().get(source);
  if (spec) {
    try {
      runtime ??= withHelpers(loadRuntime().create());
      return runtime.template(spec);
    } catch {
      // precompiled by another Handlebars (its revision check): compile it here
    }
  }
  compiler ??= withHelpers((require('handlebars') as Env).create());
  return compiler.compile(source, COMPILE_OPTIONS);
}

const cache = new Map<string, Template>();

export function renderString(source: string, data: object, name = 'template'): string {
  let tpl = cache.get(source);
  if (!tpl) {
    tpl = compile(source);
    cache.set(source, tpl);
  }
  try {
    const out = tpl(data);
    return out.endsWith('\n') ? out : `${out}\n`;
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Renders templates/NAME (e.g. "ksmbd.conf.hbs"). */
export function render(name: string, data: object): string {
  const path = resolve(TEMPLATES_DIR, name);
  return renderString(readFileSync(path, 'utf8'), data, path);
}
