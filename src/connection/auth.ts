// How a session logs in: keys first (named identity files, then the agent; or the agent, then the
// default files), then, when a password is known, keyboard-interactive and password, which is
// OpenSSH's order (PreferredAuthentications ...,publickey,keyboard-interactive,password).
import { readFile } from 'node:fs/promises';
import type { AgentAuthMethod, AuthenticationType, AuthHandlerMiddleware, KeyboardInteractiveAuthMethod, NoAuthMethod, PasswordAuthMethod, PublicKeyAuthMethod } from 'ssh2';
import { UnreachableError } from './errors.js';
import type { ConnectOptions } from './options.js';

type Method = PublicKeyAuthMethod | AgentAuthMethod | KeyboardInteractiveAuthMethod | PasswordAuthMethod | NoAuthMethod;

/**
 * Keyboard-interactive answered with the password: only a round of exactly one prompt that does
 * not echo (what sshd's PAM password prompt is), and only once; anything else (an OTP, a second
 * round after a refusal) gets no answer, so the server moves on, as it would with nobody typing.
 */
function keyboardInteractive(username: string, password: string): KeyboardInteractiveAuthMethod {
  let answered = false;
  return {
    type: 'keyboard-interactive',
    username,
    prompt: (_name, _instructions, _lang, prompts, finish) => {
      const one = prompts.length === 1 && !prompts[0]!.echo && !answered;
      answered ||= one;
      finish(one ? [password] : []);
    },
  };
}

/** The methods to try, in order. */
export async function authMethods(o: ConnectOptions): Promise<Method[]> {
  const keys = async (files: string[]) =>
    (await Promise.all(files.map((f) => readFile(f).catch(() => undefined)))).flatMap((key): PublicKeyAuthMethod[] => (key ? [{ type: 'publickey', username: o.user, key }] : []));
  const agent: AgentAuthMethod[] = o.agent ? [{ type: 'agent', username: o.user, agent: o.agent }] : [];
  const named = await keys(o.keyFiles);
  const withKeys = o.keyFiles.length ? [...named, ...agent] : [...agent, ...(await keys(o.defaultKeyFiles))];
  const pw = o.password?.value;
  // With no key to try first, `none` asks the server which methods it offers (OpenSSH always
  // starts so), so the password goes only to a method the server takes.
  const first: NoAuthMethod[] = pw && !withKeys.length ? [{ type: 'none', username: o.user }] : [];
  const methods: Method[] = [...withKeys, ...first, ...(pw ? [keyboardInteractive(o.user, pw), { type: 'password' as const, username: o.user, password: pw }] : [])];
  if (!withKeys.length && !pw) {
    const tried = [...o.keyFiles, ...o.defaultKeyFiles].join(', ');
    throw new UnreachableError(`no key to log in to ${o.host} with: ${tried ? `none of ${tried} is readable` : 'no identity file'}${o.identitiesOnly ? ' (IdentitiesOnly: the agent is not asked)' : ', and no SSH agent'}, and no password (ansible_password, --ask-pass)`);
  }
  return methods;
}

/**
 * ssh2's handler over the list: a method the server no longer offers is skipped, as OpenSSH skips
 * it, so a password is never sent to a server that does not ask for one (agent counts as publickey).
 */
export function authHandler(methods: Method[]): AuthHandlerMiddleware {
  let next = 0;
  // `left` is null before the first attempt; `false` tells ssh2 that every method failed
  return (left: AuthenticationType[] | null, _partial, done) => {
    while (next < methods.length) {
      const m = methods[next++]!;
      const type = m.type === 'agent' ? 'publickey' : m.type;
      if (!left || left.includes(type)) return done(m);
    }
    done(false as unknown as AuthenticationType);
  };
}
