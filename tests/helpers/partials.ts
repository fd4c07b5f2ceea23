/**
 * A test server's partial uploads, seen through the storage interface (the
 * provider its `--storage` names), never through a backend's medium: for
 * tests that watch an upload's bytes arrive on the server, or check that
 * nothing was left. The test process opens the user's storage beside the
 * server; it only reads, except where a helper says it writes.
 *
 * @module
 */

import { join } from "node:path";
import { storageProviderFor } from "../../src/storage/storage_location.ts";
import type { PartialListing, Storage } from "../../src/storage/storage.ts";
import { ageLocalPartials } from "../storage/storage_backends.ts";

/** What the helpers need of a test server. */
export interface ServerStorageDir {
  storageDir: string;
}

/** `user`'s storage on `server`, opened as the server opens it. */
export function userStorage(server: ServerStorageDir, user = "alice"): Promise<Storage> {
  return storageProviderFor(server.storageDir).open(user);
}

/** Every partial upload of `user` on `server` (up to 1,024), newest first. */
export async function partialListing(
  server: ServerStorageDir,
  user = "alice",
): Promise<PartialListing> {
  return await (await userStorage(server, user)).listPartials();
}

/** Bytes each partial upload of `user` holds so far, newest first; none if there is none. */
export async function partialSizes(server: ServerStorageDir, user = "alice"): Promise<number[]> {
  return (await partialListing(server, user)).partials.map((partial) => partial.received);
}

/**
 * Makes every partial upload of `user` look untouched for `ageMs`: a hook
 * each backend provides for tests (the local one sets the files' times).
 */
export function agePartials(server: ServerStorageDir, user: string, ageMs: number): Promise<void> {
  return ageLocalPartials(join(server.storageDir, user), ageMs);
}

/** Writes: leaves a partial upload of `path` holding `content`, of a file 10 bytes longer. */
export async function leavePartial(storage: Storage, path: string, content: string): Promise<void> {
  const bytes = new TextEncoder().encode(content);
  const upload = await storage.beginUpload(path, { size: bytes.length + 10, mtimeMs: 1 });
  await upload.write(bytes);
  await upload.abort(true);
}
