// Passwords asked for on the controller (--ask-vault-pass, --ask-pass, --ask-become-pass): one line
// from the terminal without echo, or from stdin when it is not a terminal.

/**
 * Reads one line. Whatever followed the line in the same chunk is put back (unshift), so several
 * prompts in a row read one line each when stdin is a pipe ("ssh pw\nbecome pw\nvault pw\n").
 * `what` names the password in errors ("vault password").
 */
export function readPassword(prompt: string, what: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    const tty = input.isTTY && typeof input.setRawMode === 'function';
    // echo off before the prompt shows, so nothing typed after it is echoed
    if (tty) {
      input.setRawMode(true);
      output.write(prompt);
    }
    let buf = '';
    const done = (err?: Error, rest?: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      if (tty) {
        input.setRawMode(false);
        output.write('\n');
      }
      input.pause();
      if (rest) input.unshift(Buffer.from(rest, 'utf8'));
      if (err) reject(err);
      else resolve(buf);
    };
    const onEnd = () => done(buf ? undefined : new Error(`no ${what} on stdin (it ended before a line was read)`));
    const onData = (chunk: Buffer | string) => {
      const text = chunk.toString('utf8');
      let i = 0;
      for (const c of text) {
        i += c.length;
        if (c === '\n' || c === '\r') return done(undefined, text.slice(i + (c === '\r' && text[i] === '\n' ? 1 : 0)));
        if (tty && c === '\u0003') return done(new Error(`${what} prompt interrupted`));
        if (tty && (c === '\u007f' || c === '\b')) buf = buf.slice(0, -1);
        else buf += c;
      }
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
