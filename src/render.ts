// Templates are Handlebars with noEscape (HTML escaping corrupts config files) and strict
// (a missing variable is an error, not an empty string). Output always ends with one newline.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Handlebars from 'handlebars';
import { TEMPLATES_DIR } from './paths.js';

const hb = Handlebars.create();
hb.registerHelper('yesno', (v: unknown) => (v === true || v === 'yes' ? 'yes' : 'no'));
hb.registerHelper('join', (v: unknown, sep: unknown) => (Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ', ') : String(v)));

const cache = new Map<string, HandlebarsTemplateDelegate>();

export function renderString(source: string, data: object, name = 'template'): string {
  let tpl = cache.get(source);
  if (!tpl) {
    tpl = hb.compile(source, { noEscape: true, strict: true });
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
