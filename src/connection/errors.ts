// Connection failures boil down to a few plain messages; the host is then UNREACHABLE.

export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/** Maps ssh2/socket errors to the messages an operator can act on. */
export function explainConnectError(err: unknown, target: string): string {
  const e = err as { code?: string; level?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (e?.code === 'ECONNREFUSED') return `connection refused by ${target} (is sshd running and listening there?)`;
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') return `name not resolved: ${target}`;
  if (e?.code === 'EHOSTUNREACH' || e?.code === 'ENETUNREACH') return `no route to ${target}`;
  if (e?.code === 'ETIMEDOUT' || /timed out/i.test(msg)) return `timed out connecting to ${target}`;
  if (e?.level === 'client-authentication' || /authentication methods failed/i.test(msg))
    return `authentication refused by ${target} (check ansible_user and ansible_ssh_private_key_file, or User and IdentityFile in the ssh config; "smbdirect inventory --host" shows what was used)`;
  if (e?.code === 'ECONNRESET') return `connection reset by ${target}`;
  return `${msg} (${target})`;
}
