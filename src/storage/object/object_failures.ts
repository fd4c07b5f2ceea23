/**
 * The one mapping from object-store failures to what a client hears: a
 * {@link StorageError} with IO_ERROR and a message naming the file and what
 * the store said (never a secret: the store's messages hold none). A store
 * that could not be reached says "try again", as the database does.
 *
 * @module
 */

import { STATUS } from "../../protocol/status.ts";
import { StorageError } from "../storage.ts";
import { ObjectStoreError } from "./object_store.ts";

/** An object-store failure the same request may survive later (the store was unreachable). */
export class ObjectStoreUnavailableError extends StorageError {
  /** Always true: callers and clients may try again. */
  readonly retryable = true;

  constructor(path: string, reason: string) {
    super(STATUS.IO_ERROR, `${path}: the object store is unreachable (${reason}); try again`);
    this.name = "ObjectStoreUnavailableError";
  }
}

/**
 * `error` as a StorageError about `path`: a StorageError as it is, an
 * {@link ObjectStoreError} as IO_ERROR (retryable when the store was
 * unreachable), anything else as IO_ERROR with its message.
 */
export function toStorageFailure(error: unknown, path: string): StorageError {
  if (error instanceof StorageError) return error;
  if (error instanceof ObjectStoreError) {
    if (error.retryable) return new ObjectStoreUnavailableError(path, error.message);
    return new StorageError(STATUS.IO_ERROR, `${path}: the object store failed: ${error.message}`);
  }
  return new StorageError(STATUS.IO_ERROR, `${path}: ${(error as Error)?.message ?? error}`);
}
