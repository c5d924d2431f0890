// The task modules inside the one-file build of `run` (scripts/bundle-run.mjs), by path under
// dist/tasks: the bundle's entry fills this in, playbook.ts takes a task from here before importing
// it by path, so that tasks and engine share one copy of stateful modules (the secrets registry,
// the interrupt state). Empty when the CLI runs as ES modules.
export const bundledTasks = new Map<string, () => Promise<unknown>>();
