/**
 * The flags of `sync`, apart from the command so that the walk begun as the
 * program starts (`early_walk.ts`) reads a sync's command line the way the
 * command does, without loading it.
 *
 * @module
 */

/** `sync`'s flags, in `node:util` `parseArgs` form. */
export const SYNC_FLAGS = {
  push: { type: "boolean" },
  pull: { type: "boolean" },
  delete: { type: "boolean" },
  "dry-run": { type: "boolean", short: "n" },
  force: { type: "boolean" },
  "max-delete": { type: "string" },
  watch: { type: "boolean" },
} as const;
