/**
 * The refusals of path confinement, in one place so every route to a
 * refusal says it the same way. Messages name only the virtual path.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { StorageError } from "./storage.ts";
import { RESERVED_NAME } from "./virtual_path.ts";

/**
 * Signals, inside one attempt, that the tree changed between two checks (an
 * open sent elsewhere by a swapped path, a name that vanished): start over.
 * Never reaches a client: {@link RootConfinement.retrying} turns it into IO_ERROR.
 */
export class TreeChanged extends Error {
  constructor() {
    super("the tree changed during the walk");
    this.name = "TreeChanged";
  }
}

/** NOT_FOUND for `virtual`. */
export function notFound(virtual: string): StorageError {
  return new StorageError(STATUS.NOT_FOUND, `${virtual}: no such file or directory`);
}

/** PERMISSION_DENIED: a symlink on the way leads out of the user's root. */
export function leadsOutside(virtual: string): StorageError {
  return new StorageError(STATUS.PERMISSION_DENIED, `${virtual}: leads outside your storage`);
}

/** PERMISSION_DENIED: the path resolves into the server's private folder. */
export function leadsIntoPrivate(virtual: string): StorageError {
  return new StorageError(
    STATUS.PERMISSION_DENIED,
    `${virtual}: leads into the server's private folder ${RESERVED_NAME}`,
  );
}

/** NOT_A_DIRECTORY: a name on the way is not a folder. */
export function notADirectory(virtual: string): StorageError {
  return new StorageError(
    STATUS.NOT_A_DIRECTORY,
    `${virtual}: a part of the path is not a directory`,
  );
}

/** NOT_FOUND: symlinks nested deeper than the limit, a loop say (it points nowhere). */
export function tooManyLinks(virtual: string): StorageError {
  return new StorageError(STATUS.NOT_FOUND, `${virtual}: too many levels of symbolic links`);
}
