// Renders a project template for the SMB renderers. src/paths.ts assumes the dist/ layout
// (two levels below the package root), so from the TypeScript sources under tap it points one
// level too high; this looks upward for templates/NAME instead, which works from both.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderString } from '../render.js';

function templatePath(name: string): string {
  for (let up = 2; up <= 4; up++) {
    const path = fileURLToPath(new URL(`${'../'.repeat(up)}templates/${name}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`template ${name} not found above ${fileURLToPath(import.meta.url)}`);
}

export function renderTemplate(name: string, data: object): string {
  const path = templatePath(name);
  return renderString(readFileSync(path, 'utf8'), data, path);
}
