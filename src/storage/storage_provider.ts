/**
 * The storage provider: where every user's {@link Storage} comes from. The
 * server is given one provider and asks it, never a backend's medium, for a
 * user's files, the users who have files, and the sweep of stale partial
 * uploads. `storageProviderFor` (storage_location.ts) picks the provider a
 * `--storage` location names.
 *
 * @module
 */

import type { Storage } from "./storage.ts";
import type { Database } from "../database/database.ts";
import type { S3Config } from "./object/s3_configuration.ts";

/** What {@link StorageProvider.sweepPartials} removed of one user's partial uploads. */
export interface SweptPartials {
  user: string;
  /** Partial uploads removed. */
  removed: number;
}

/** Where the users' storages live: one per user, created on first use. */
export interface StorageProvider {
  /** The location as configured (a folder, for the local backend), for log lines. */
  readonly location: string;
  /** Makes the location ready to serve (creates the local folder); called once at startup. */
  prepare(): Promise<void>;
  /** Opens `user`'s storage, creating an empty one if the user has none yet. */
  open(user: string): Promise<Storage>;
  /** The users who have a storage here, in no particular order. */
  listUsers(): Promise<string[]>;
  /**
   * Removes every user's partial uploads untouched for longer than
   * `maxAgeMs`; resolves to the users who had some, with how many.
   */
  sweepPartials(maxAgeMs: number): Promise<SweptPartials[]>;
}

/** Options of `storageProviderFor`, for whichever backend the location names. */
export interface StorageProviderOptions {
  /** Flush an upload's data to its medium before it is placed under its name. Default true. */
  fsync?: boolean;
  /** The shared database (`--database`): where the object-store backend keeps names. */
  database?: Database;
  /** The object store's options (`--s3-*`), for an `s3://` location. */
  s3?: S3Config;
}
