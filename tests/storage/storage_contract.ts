/**
 * The contract every {@link Storage} backend must pass.
 * storage_contract_test.ts calls {@link runStorageContract} with the list of
 * backends (storage_backends.ts), each with a factory of fresh, empty
 * storages; every case then runs against each backend.
 *
 * @module
 */

import type { Storage } from "../../src/storage/storage.ts";
import { registerNamespaceContract } from "./storage_contract_namespace.ts";
import { registerPartialsContract } from "./storage_contract_partials.ts";
import { registerPathContract } from "./storage_contract_paths.ts";
import { registerSyncContract } from "./storage_contract_sync.ts";
import { registerUploadContract } from "./storage_contract_upload.ts";
import { registerWalkContract } from "./storage_contract_walk.ts";
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

/** What a backend started once for all its cases: its fixtures, and how to stop it. */
export interface BackendEnvironment extends AsyncDisposable {
  makeFixture: StorageFixtureFactory;
}

/**
 * One backend the contract runs against: its name, its fixtures, and the
 * cases it is excused from, each with the reason (a case name that is not
 * in the contract fails the run, so an excuse cannot outlive its case).
 *
 * A backend gives its fixtures either directly (`makeFixture`: each case
 * is a test of its own) or through `start`, which starts what it needs (a
 * database, an object store) once: its cases are then steps of one test,
 * and all of it is stopped at the end.
 */
export interface ContractBackend {
  name: string;
  makeFixture?: StorageFixtureFactory;
  start?: () => Promise<BackendEnvironment>;
  /** Why the backend cannot run here (its cases are ignored, the reason in their name). */
  unavailable?: string;
  /** Case name → why this backend does not run it. Default: none excused. */
  excused?: Readonly<Record<string, string>>;
}

/**
 * Registers the whole storage contract with `Deno.test` for each backend:
 * every case once per backend, named "`backend`: behaviour"; an excused
 * case is registered as ignored, its reason in its name.
 *
 * @example
 * ```ts
 * runStorageContract([{ name: "LocalStorage", makeFixture: makeLocalFixture }]);
 * ```
 */
export function runStorageContract(backends: readonly ContractBackend[]): void {
  const cases = new Map<string, Parameters<DefineContractTest>[1]>();
  const define: DefineContractTest = (name, body) => {
    if (cases.has(name)) throw new Error(`two contract cases are named "${name}"`);
    cases.set(name, body);
  };
  registerNamespaceContract(define);
  registerPathContract(define);
  registerUploadContract(define);
  registerWholeFileContract(define);
  registerPartialsContract(define);
  registerSyncContract(define);
  registerWalkContract(define);
  for (const backend of backends) registerBackend(backend, cases);
}

function registerBackend(
  backend: ContractBackend,
  cases: Map<string, Parameters<DefineContractTest>[1]>,
): void {
  const excused = backend.excused ?? {};
  const unknown = Object.keys(excused).filter((name) => !cases.has(name));
  if (unknown.length > 0) {
    throw new Error(`${backend.name} is excused from cases not in the contract: ${unknown}`);
  }
  if (backend.start !== undefined) return registerStarted(backend, backend.start, cases);
  for (const [name, body] of cases) {
    const reason = excused[name] ?? backend.unavailable;
    Deno.test({
      name: reason === undefined
        ? `${backend.name}: ${name}`
        : `${backend.name}: ${name} (excused: ${reason})`,
      ignore: reason !== undefined,
      fn: () => runCase(backend.makeFixture!, body),
    });
  }
}

/** One test for the backend, started once, with every case as a step. */
function registerStarted(
  backend: ContractBackend,
  start: () => Promise<BackendEnvironment>,
  cases: Map<string, Parameters<DefineContractTest>[1]>,
): void {
  const excused = backend.excused ?? {};
  Deno.test({
    name: backend.unavailable === undefined
      ? `${backend.name}: the storage contract`
      : `${backend.name}: the storage contract (skipped: ${backend.unavailable})`,
    ignore: backend.unavailable !== undefined,
    fn: async (t) => {
      await using environment = await start();
      for (const [name, body] of cases) {
        const reason = excused[name];
        await t.step({
          name: reason === undefined ? name : `${name} (excused: ${reason})`,
          ignore: reason !== undefined,
          fn: () => runCase(environment.makeFixture, body),
        });
      }
    },
  });
}

async function runCase(
  makeFixture: StorageFixtureFactory,
  body: Parameters<DefineContractTest>[1],
): Promise<void> {
  const fixture = await makeFixture();
  try {
    await body(fixture.storage, fixture);
  } finally {
    await fixture.dispose();
  }
}
