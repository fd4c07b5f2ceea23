/**
 * The contract every {@link Storage} backend must pass. A backend's test file
 * calls {@link runStorageContract} with a factory of fresh, empty storages;
 * the same tests then run against each backend.
 *
 * @module
 */

import type { Storage } from "../../src/storage/storage.ts";
import { registerNamespaceContract } from "./storage_contract_namespace.ts";
import { registerPartialsContract } from "./storage_contract_partials.ts";
import { registerPathContract } from "./storage_contract_paths.ts";
import { registerSyncContract } from "./storage_contract_sync.ts";
import { registerUploadContract } from "./storage_contract_upload.ts";
import { registerWholeFileContract } from "./storage_contract_whole_file.ts";

/** A fresh, empty storage plus the few hooks the contract needs from its backend. */
export interface StorageFixture {
  storage: Storage;
  /** Makes every partial upload look untouched for `ageMs` milliseconds. */
  agePartials(ageMs: number): Promise<void>;
  /** Deletes everything the fixture created. */
  dispose(): Promise<void>;
}

/** Creates a fresh fixture for one test. */
export type StorageFixtureFactory = () => Promise<StorageFixture>;

/** Registers one contract test; the fixture is disposed of whatever happens. */
export type DefineContractTest = (
  name: string,
  body: (storage: Storage, fixture: StorageFixture) => Promise<void>,
) => void;

/**
 * Registers the whole storage contract with `Deno.test`, each test named
 * "`backendName`: behaviour".
 *
 * @example
 * ```ts
 * runStorageContract("LocalStorage", makeLocalFixture);
 * ```
 */
export function runStorageContract(backendName: string, makeFixture: StorageFixtureFactory): void {
  const define: DefineContractTest = (name, body) => {
    Deno.test(`${backendName}: ${name}`, async () => {
      const fixture = await makeFixture();
      try {
        await body(fixture.storage, fixture);
      } finally {
        await fixture.dispose();
      }
    });
  };
  registerNamespaceContract(define);
  registerPathContract(define);
  registerUploadContract(define);
  registerWholeFileContract(define);
  registerPartialsContract(define);
  registerSyncContract(define);
}
