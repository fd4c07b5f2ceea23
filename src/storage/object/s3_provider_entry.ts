/**
 * The entry of `s3://` locations into storage_location.ts: checks the
 * location and that a database is given at once, and loads the backend
 * (the AWS SDK, the database driver) only when the server prepares it, so
 * that a server on the local backend never loads them.
 *
 * @module
 */

import type { Storage } from "../storage.ts";
import type {
  StorageProvider,
  StorageProviderOptions,
  SweptPartials,
} from "../storage_provider.ts";
import { formatS3Location, parseS3Location } from "./s3_location.ts";

/** A provider that becomes the object-store provider when prepared. */
class DeferredObjectProvider implements StorageProvider {
  readonly location: string;
  readonly #options: StorageProviderOptions;
  #provider: StorageProvider | undefined;

  constructor(location: string, options: StorageProviderOptions) {
    this.location = formatS3Location(parseS3Location(location));
    if (options.database === undefined) {
      throw new TypeError(
        `--storage ${this.location} keeps names and folders in PostgreSQL: give --database too`,
      );
    }
    this.#options = options;
  }

  async prepare(): Promise<void> {
    const { ObjectStorageProvider } = await import("./object_provider.ts");
    const provider = new ObjectStorageProvider(this.location, this.#options);
    await provider.prepare();
    this.#provider = provider;
  }

  open(user: string): Promise<Storage> {
    return this.#ready().open(user);
  }

  listUsers(): Promise<string[]> {
    return this.#ready().listUsers();
  }

  sweepPartials(maxAgeMs: number): Promise<SweptPartials[]> {
    return this.#ready().sweepPartials(maxAgeMs);
  }

  #ready(): StorageProvider {
    if (this.#provider === undefined) throw new Error(`${this.location} is not prepared yet`);
    return this.#provider;
  }
}

/**
 * The provider of `s3://BUCKET/PREFIX`; throws a TypeError for a bad
 * location or without `options.database`.
 */
export function s3ProviderFor(location: string, options: StorageProviderOptions): StorageProvider {
  return new DeferredObjectProvider(location, options);
}
