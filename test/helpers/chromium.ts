// Headless Chromium for tests of the HTML report: the DOM after rendering, a screenshot beside it,
// and small readers of the dumped DOM. Debian's chromium, installed by the report-test prerequisite.
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import type { Test } from 'tap';
import { tmp } from './lab.js';

/** Headless Chromium on a file: the DOM after rendering, and a screenshot beside it. */
export function chromium(t: Test, html: string, png: string): string {
  const profile = tmp('sd-chromium-');
  const common = ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, '--window-size=1400,2000'];
  const dom = spawnSync('chromium', [...common, '--dump-dom', `file://${html}`], { encoding: 'utf8', timeout: 120_000 });
  const shot = spawnSync('chromium', [...common, `--screenshot=${png}`, `file://${html}`], { encoding: 'utf8', timeout: 120_000 });
  rmSync(profile, { recursive: true, force: true });
  t.error(dom.error, 'chromium --dump-dom ran');
  // chromium's stderr (dbus complaints on a machine without a session bus) only when it failed.
  t.equal(dom.status, 0, `chromium --dump-dom exit 0${dom.status === 0 ? '' : `: ${dom.stderr.slice(-500)}`}`);
  t.equal(shot.status, 0, `chromium --screenshot exit 0${shot.status === 0 ? '' : `: ${shot.stderr.slice(-500)}`}`);
  t.ok(statSync(png, { throwIfNoEntry: false })?.size, `screenshot ${png}`);
  return dom.stdout;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: '\u00a0' };
export const decode = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => ENTITIES[e]!);
/** The values of an attribute on elements whose opening tag matches `tag`, decoded. */
export const attrs = (dom: string, tag: RegExp, attr: string) =>
  [...dom.matchAll(new RegExp(`<${tag.source}[^>]*?\\s${attr}="([^"]*)"`, 'g'))].map((m) => decode(m[1]!));
