/**
 * The storage backends the contract suite runs against, each with its
 * fixtures and the cases it is excused from (with the reason). A new backend
 * joins the contract by joining {@link CONTRACT_BACKENDS}.
 *
 * @module
 */

import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import type { ContractBackend, StorageFixture } from "./storage_contract.ts";

/** Makes every partial upload in the local user folder `root` look untouched for `ageMs`. */
export async function ageLocalPartials(root: string, ageMs: number): Promise<void> {
  const partialDirectory = join(root, ".dfos", "partial");
  const past = new Date(Date.now() - ageMs);
  for await (const entry of Deno.readDir(partialDirectory)) {
    await Deno.utime(join(partialDirectory, entry.name), past, past);
  }
}

/** A fresh local backend: a user folder in a temporary folder of its own. */
async function makeLocalFixture(): Promise<StorageFixture> {
  const base = await Deno.makeTempDir({ prefix: "dfos-storage-" });
  const root = join(base, "alice");
  const storage = await LocalStorage.open(root);
  return {
    storage,
    agePartials: (ageMs) => ageLocalPartials(root, ageMs),
    dispose: () => Deno.remove(base, { recursive: true }),
  };
}

/** Every backend; each runs every case of the contract it is not excused from. */
export const CONTRACT_BACKENDS: readonly ContractBackend[] = [
  { name: "LocalStorage", makeFixture: makeLocalFixture },
];
