// Ansible-compatible inventory loading: YAML and INI inventories, group_vars/ and host_vars/,
// host patterns and -e extra vars. See docs/inventory.md.

export { InventoryError } from './errors.js';
export type { WarnFn } from './errors.js';
export { loadInventory } from './load.js';
export type { LoadOptions } from './load.js';
export { parseExtraVars } from './extra-vars.js';
export { selectHosts } from './patterns.js';
export { inventoryList, inventoryGraph, inventoryHost } from './present.js';
