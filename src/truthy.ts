// Ansible's booleans: what a variable set to yes/true/on/1/y (any case), a non-zero number or
// true means. Shared by the connection layer (ansible_become), tasks and src/smb, so none of
// them imports another's module for it.

export function truthy(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return typeof v === 'string' && /^(yes|true|on|1|y)$/i.test(v.trim());
}
