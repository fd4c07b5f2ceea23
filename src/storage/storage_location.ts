/**
 * Which {@link StorageProvider} a `--storage` location names. A location is
 * a folder of the local filesystem unless it starts with the scheme of
 * another backend (`SCHEME://…`) listed in {@link PROVIDERS_BY_SCHEME}:
 * `s3://BUCKET/PREFIX`, the object-store backend (src/storage/object/).
 *
 * @module
 */

import { LocalStorageProvider } from "./local_provider.ts";
import type { StorageProvider, StorageProviderOptions } from "./storage_provider.ts";
import { s3ProviderFor } from "./object/s3_provider_entry.ts";

/** Builds the provider of one backend from its location and the options. */
type ProviderFactory = (location: string, options: StorageProviderOptions) => StorageProvider;

/** The backends named by a URL scheme ("s3" for `s3://BUCKET/PREFIX`, say), by scheme. */
const PROVIDERS_BY_SCHEME: ReadonlyMap<string, ProviderFactory> = new Map([
  ["s3", s3ProviderFor],
]);

/** `SCHEME://` at the start of a location. */
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * The provider of the backend `location` names: a listed scheme's, else the
 * local backend's on the folder `location`. Throws a TypeError for a
 * location its backend refuses (an s3:// location without a database, say).
 *
 * @example
 * ```ts
 * const provider = storageProviderFor("./server_storage", { fsync: true });
 * ```
 */
export function storageProviderFor(
  location: string,
  options: StorageProviderOptions = {},
): StorageProvider {
  const scheme = SCHEME.exec(location)?.[1].toLowerCase();
  const factory = scheme === undefined ? undefined : PROVIDERS_BY_SCHEME.get(scheme);
  return factory ? factory(location, options) : new LocalStorageProvider(location, options);
}
