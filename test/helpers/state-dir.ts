// A test's own directory under the project's state directory (/var/lib/smbdirect-provision), made
// first where it does not exist yet: on a fresh machine nothing has run before the tests.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from '../../src/smb/created-dirs.js';

export function testStateDir(prefix: string): string {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
  return mkdtempSync(join(STATE_DIR, prefix));
}
