/**
 * The storage backends the contract suite runs against, each with its
 * fixtures and the cases it is excused from (with the reason). A new backend
 * joins the contract by joining {@link CONTRACT_BACKENDS}.
 *
 * @module
 */

import { join } from "node:path";
import { Database } from "../../src/database/database.ts";
import { migrate } from "../../src/database/migrations.ts";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { ObjectStorageProvider } from "../../src/storage/object/object_provider.ts";
import { OBJECT_STORE_MISSING, startObjectStore } from "../helpers/ceph.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";
import { newStore } from "./object_store_helpers.ts";
import type { BackendEnvironment, ContractBackend, StorageFixture } from "./storage_contract.ts";

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

/** Makes every partial upload of `user` look untouched for `ageMs`. */
export async function ageObjectPartials(
  database: Database,
  user: string,
  ageMs: number,
): Promise<void> {
  await database.run((sql) =>
    sql`UPDATE uploads SET written_at = now() - ${ageMs} * interval '1 millisecond'
        WHERE user_name = ${user}`
  );
}

/**
 * The object-store backend on a real radosgw (started for the file) and a
 * database of its own on the file's PostgreSQL; each case a user of its own.
 */
async function startObjectBackend(): Promise<BackendEnvironment> {
  const server = await startObjectStore();
  const database = Database.open(await (await sharedPostgres()).createDatabase());
  try {
    await migrate(database);
    const store = await newStore(server, "contract");
    const provider = new ObjectStorageProvider("s3://contract/contract", { database, store });
    await provider.prepare();
    let users = 0;
    return {
      async makeFixture() {
        const user = `user${++users}`;
        return {
          storage: await provider.open(user),
          agePartials: (ageMs) => ageObjectPartials(database, user, ageMs),
          dispose: () => Promise.resolve(),
        };
      },
      async [Symbol.asyncDispose]() {
        store.close();
        await database.close();
        await server.stop();
      },
    };
  } catch (error) {
    await database.close();
    await server.stop();
    throw error;
  }
}

/** Every backend; each runs every case of the contract it is not excused from. */
export const CONTRACT_BACKENDS: readonly ContractBackend[] = [
  { name: "LocalStorage", makeFixture: makeLocalFixture },
  {
    name: "ObjectStorage",
    start: startObjectBackend,
    unavailable: OBJECT_STORE_MISSING ?? postgresMissing(),
  },
];
