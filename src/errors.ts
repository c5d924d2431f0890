// The one place that turns an error into what a user reads: a plain message that says what
// failed and what to do, never a stack frame (SMBDIRECT_DEBUG=1 adds the stack). zx puts a call
// site ("    at file:///.../x.js:65:75") and "exit code: N" lines into its errors' messages;
// those are for developers, so they go, and the exit code is said in words.

import { redact } from './secrets.js';

/** zx's ProcessOutput, told by shape: importing zx here would load it for every command, even --help. */
interface ProcessFailure { message: string; exitCode: number | null; signal: string | null; stderr: string }
function isProcessFailure(e: unknown): e is ProcessFailure {
  return e instanceof Error && 'exitCode' in e && 'stderr' in e && 'signal' in e;
}

const FRAME = /^\s+at \S/;
const ZX_EXIT = /^\s+exit code: /;

/** The message of any thrown value, without stack frames. */
export function errorMessage(e: unknown): string {
  if (isProcessFailure(e)) {
    const said = plain(e.message);
    const exit = e.signal ? `killed by ${e.signal}` : `exit ${e.exitCode}${e.exitCode === 127 ? ', command not found' : ''}`;
    return said ? `${said} (${exit})` : `the command failed (${exit})`;
  }
  if (e instanceof Error) return plain(e.message) || e.name;
  return String(e);
}

function plain(message: string): string {
  return message.split('\n').filter((l) => !FRAME.test(l) && !ZX_EXIT.test(l)).join('\n').trim();
}

/** Writes the one-message report of a fatal error to stderr (the stack only with SMBDIRECT_DEBUG). */
export function reportError(e: unknown, out: (text: string) => void = (t) => process.stderr.write(t)): void {
  out(`ERROR! ${redact(errorMessage(e))}\n`);
  if (process.env.SMBDIRECT_DEBUG) out(`${e instanceof Error ? e.stack : String(e)}\n`);
}
