/**
 * The {@link StorageProvider} of `--storage s3://BUCKET/PREFIX`: every
 * user's {@link ObjectStorage} on one S3 store, with their metadata in the
 * server's PostgreSQL database (`--database`, required). The users are those
 * the database has a storage for; the hourly sweep of stale partials also
 * runs the collector of unnamed objects (object_collector.ts).
 *
 * @module
 */

import type { Database } from "../../database/database.ts";
import { serverLog } from "../../log/logging.ts";
import type { Storage } from "../storage.ts";
import type {
  StorageProvider,
  StorageProviderOptions,
  SweptPartials,
} from "../storage_provider.ts";
import { ObjectBackend } from "./object_backend.ts";
import { collectGarbage } from "./object_collector.ts";
import type { ObjectStore } from "./object_store.ts";
import { ObjectStorage } from "./object_storage.ts";
import { S3ObjectStore } from "./s3_object_store.ts";
import { s3StoreSettings } from "./s3_configuration.ts";
import { formatS3Location, parseS3Location } from "./s3_location.ts";

/** How long an unnamed object is left before the collector deletes it, by default: 1 hour. */
export const DEFAULT_GARBAGE_GRACE_MS = 3600_000;

/** Options of the provider beyond {@link StorageProviderOptions}, for tests. */
export interface ObjectProviderOptions extends StorageProviderOptions {
  /** The store to use instead of the one the location and `s3` name. */
  store?: ObjectStore;
  /** Default {@link DEFAULT_GARBAGE_GRACE_MS}. */
  garbageGraceMs?: number;
}

/**
 * Users' storages on an object store.
 *
 * @example
 * ```ts
 * const provider = new ObjectStorageProvider("s3://files/team", { database, s3: { endpoint } });
 * await provider.prepare();
 * const alice = await provider.open("alice");
 * ```
 */
export class ObjectStorageProvider implements StorageProvider {
  readonly location: string;
  readonly #options: ObjectProviderOptions;
  readonly #database: Database;
  #backend: ObjectBackend | undefined;

  /** Throws a TypeError for a location that is not s3://BUCKET/PREFIX, or without a database. */
  constructor(location: string, options: ObjectProviderOptions = {}) {
    this.location = formatS3Location(parseS3Location(location));
    if (options.database === undefined) {
      throw new TypeError(
        `--storage ${this.location} keeps names and folders in PostgreSQL: give --database too`,
      );
    }
    this.#database = options.database;
    this.#options = options;
  }

  /** Builds the store from the location, flags and environment, and checks it answers. */
  async prepare(): Promise<void> {
    const store = this.#options.store ??
      new S3ObjectStore(await s3StoreSettings(this.location, this.#options.s3));
    await store.list("objects/", { limit: 1 });
    this.#backend = new ObjectBackend(this.#database, store);
  }

  open(user: string): Promise<Storage> {
    return ObjectStorage.open(this.#ready(), user);
  }

  /** The users the database has a storage for. */
  async listUsers(): Promise<string[]> {
    const rows = await this.#database.run((sql) =>
      sql<{ user_name: string }[]>`SELECT user_name FROM storage_users ORDER BY user_name`
    );
    return rows.map((row) => row.user_name);
  }

  /** Sweeps the users with stale uploads, then collects unnamed objects. */
  async sweepPartials(maxAgeMs: number): Promise<SweptPartials[]> {
    const rows = await this.#database.run((sql) =>
      sql<{ user_name: string }[]>`
        SELECT DISTINCT user_name FROM uploads
        WHERE written_at < now() - ${maxAgeMs} * interval '1 millisecond'`
    );
    const swept: SweptPartials[] = [];
    for (const { user_name: user } of rows) {
      const removed = await (await this.open(user)).cleanupPartials(maxAgeMs);
      if (removed > 0) swept.push({ user, removed });
    }
    await this.collectGarbage();
    return swept;
  }

  /** One pass of the collector; logs what it removed. */
  async collectGarbage(): Promise<void> {
    const graceMs = this.#options.garbageGraceMs ?? DEFAULT_GARBAGE_GRACE_MS;
    const collected = await collectGarbage(this.#ready(), { graceMs });
    if (collected.objects + collected.uploads === 0) return;
    serverLog.info("collected {objects} unnamed objects and {uploads} unrecorded uploads", {
      ...collected,
    });
  }

  #ready(): ObjectBackend {
    if (this.#backend === undefined) throw new Error("the object-store provider is not prepared");
    return this.#backend;
  }
}
