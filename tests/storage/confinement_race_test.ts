/**
 * Confinement under races: while another process swaps alice's folder `x`
 * for a symlink to bob's folder as fast as it can, alice reads, lists,
 * stats, uploads, creates, renames and deletes inside `x/`. Nothing may
 * reach bob: his tree must be byte-for-byte and mtime-for-mtime unchanged,
 * and no reply may carry his data.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { clearFolderCache } from "../../src/storage/folder_cache.ts";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { statusName } from "../../src/protocol/status.ts";
import { type Storage, StorageError } from "../../src/storage/storage.ts";
import {
  exactSnapshot,
  openDescriptorCount,
  startSwapper,
  type SwapMode,
} from "../helpers/race.ts";
import {
  bytesOf,
  putFile,
  readFileText,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";
import { walked } from "./storage_contract_walk.ts";

/** How long each swapper runs. */
const SWAP_MS = 2_500;
/** Rounds of operations at most (each round tries every operation once). */
const MAX_ROUNDS = 1_500;
const BOB_SECRET = "BOB-SECRET-must-never-leave-bob";
const BOB_MTIME_MS = 1_234_567_890_123;

/** What the attack achieved, by operation: "ok", or the status it was refused with. */
type Outcomes = Map<string, Map<string, number>>;

interface Scene {
  base: string;
  alice: string;
  bob: string;
  storage: Storage;
}

async function withScene(body: (scene: Scene) => Promise<void>): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-race-" }));
  try {
    const alice = join(base, "alice");
    const bob = join(base, "bob");
    const storage = await LocalStorage.open(alice, { fsync: false });
    await plantBob(join(bob, "swapdir"));
    await plantAlice(storage);
    await body({ base, alice, bob, storage });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** Bob's folder holds every name alice's operations use, with his own content and times. */
async function plantBob(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "sub"), { recursive: true });
  const files = ["secret.txt", "a.txt", "sub/deep.txt", "bob-only.txt"];
  for (let round = 0; round < MAX_ROUNDS; round++) files.push(`victim-${round}`);
  for (const file of files) await Deno.writeTextFile(join(dir, file), BOB_SECRET);
  for (let round = 0; round < MAX_ROUNDS; round += 50) {
    await Deno.mkdir(join(dir, `tree-${round}`, "inner"), { recursive: true });
  }
  for (const file of files) {
    await Deno.utime(join(dir, file), BOB_MTIME_MS / 1000, BOB_MTIME_MS / 1000);
  }
}

async function plantAlice(storage: Storage): Promise<void> {
  await storage.mkdir("/x/sub", { parents: true });
  await putFile(storage, "/x/secret.txt", "alice's own");
  await putFile(storage, "/x/a.txt", "alice's a");
  await putFile(storage, "/x/sub/deep.txt", "alice's deep");
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await storage.writeFile(`/x/victim-${round}`, bytesOf("v"), {
      mtimeMs: TEST_MTIME_MS,
      sha256Hex: sha256Hex(bytesOf("v")),
    });
    if (round % 50 === 0) await storage.mkdir(`/x/tree-${round}/inner`, { parents: true });
  }
}

/** Thrown by a check that found bob's data in a reply. */
class Leak extends Error {}

/** Records how `attempt` ended under `name`: "ok", "LEAKED" (bob's data came back), or a status. */
async function tally(outcomes: Outcomes, name: string, attempt: () => Promise<unknown>) {
  let result = "ok";
  try {
    const value = await attempt();
    if (JSON.stringify(value ?? "").includes("BOB-SECRET")) result = "LEAKED";
  } catch (error) {
    if (error instanceof Leak) result = "LEAKED";
    else if (error instanceof StorageError) result = statusName(error.code);
    else throw error;
  }
  const counts = outcomes.get(name) ?? new Map<string, number>();
  counts.set(result, (counts.get(result) ?? 0) + 1);
  outcomes.set(name, counts);
}

/** Four small files in x/ as the files of one request (sharing their folder's walk). */
async function writeMany(storage: Storage, round: number): Promise<void> {
  using batch = storage.batch!();
  for (let index = 0; index < 4; index++) {
    await storage.writeFile(`/x/many-${round}-${index}`, bytesOf("m"), {
      mtimeMs: TEST_MTIME_MS,
      sha256Hex: sha256Hex(bytesOf("m")),
      batch,
    });
  }
}

/** Three files of x/ read as the files of one request (sharing their folder's walk). */
async function readMany(storage: Storage): Promise<string[]> {
  using batch = storage.batch!();
  const texts: string[] = [];
  for (const path of ["/x/secret.txt", "/x/a.txt", "/x/secret.txt"]) {
    const handle = await storage.openRead(path, { batch });
    try {
      const bytes = new Uint8Array(handle.size);
      for (let filled = 0; filled < bytes.length;) {
        const count = await handle.read(bytes.subarray(filled), filled);
        if (count === null) break;
        filled += count;
      }
      texts.push(new TextDecoder().decode(bytes));
    } finally {
      handle.close();
    }
  }
  return texts;
}

/** One round of every operation inside x/. */
async function attackRound(storage: Storage, round: number, outcomes: Outcomes): Promise<void> {
  const big = new Uint8Array(300 * 1024).fill(round % 251);
  const attempts: [string, () => Promise<unknown>][] = [
    ["read", () => readFileText(storage, "/x/secret.txt")],
    ["read deep", () => readFileText(storage, "/x/sub/deep.txt")],
    ["stat", () => storage.stat("/x/secret.txt").then((info) => assertNotBobs(info.mtimeMs))],
    ["list", () => storage.list("/x").then((entries) => assertNoBobOnly(entries))],
    ["list deep", () => storage.list("/x/sub").then((entries) => entries.map((e) => e.name))],
    ["small upload", () => putFile(storage, `/x/u-${round}`, "u")],
    ["whole file", () =>
      storage.writeFile(`/x/w-${round}`, bytesOf("w"), {
        mtimeMs: TEST_MTIME_MS,
        sha256Hex: sha256Hex(bytesOf("w")),
      })],
    ["large upload", () => putFile(storage, `/x/big-${round}`, big)],
    ["many files", () => writeMany(storage, round)],
    ["read many", () => readMany(storage)],
    ["overwrite", () => putFile(storage, "/x/a.txt", `a ${round}`, { overwrite: true })],
    ["mkdir", () => storage.mkdir(`/x/m-${round}`)],
    ["rm", () => storage.remove(`/x/victim-${round}`)],
    ["rm -r", () => storage.remove(`/x/tree-${round - (round % 50)}`, { recursive: true })],
    [
      "rename",
      () =>
        storage.rename("/x/a.txt", "/x/b.txt").then(() => storage.rename("/x/b.txt", "/x/a.txt")),
    ],
    ["setMtime", () => storage.setMtime("/x/secret.txt", TEST_MTIME_MS)],
  ];
  if (round % 10 === 0) {
    attempts.push(["usage", () => storage.usage()]);
    attempts.push([
      "walk",
      () =>
        walked(storage.walk("/x")).then((entries) =>
          assertNoBobOnly(
            entries.map(({ path }) => ({ name: path.slice(path.lastIndexOf("/") + 1) })),
          )
        ),
    ]);
  }
  for (const [name, attempt] of attempts) await tally(outcomes, name, attempt);
}

function assertNotBobs(mtimeMs: number): void {
  if (mtimeMs === BOB_MTIME_MS) throw new Leak("stat described bob's file");
}

function assertNoBobOnly(entries: { name: string }[]): string[] {
  const names = entries.map((entry) => entry.name);
  if (names.includes("bob-only.txt")) throw new Leak("a listing showed bob's folder");
  return names;
}

function describe(outcomes: Outcomes): string {
  return [...outcomes].map(([name, counts]) =>
    `${name}: ${[...counts].map(([result, count]) => `${result}×${count}`).join(" ")}`
  ).join("; ");
}

async function raceScene(mode: SwapMode): Promise<void> {
  await withScene(async ({ base, alice, bob, storage }) => {
    await storage.stat("/x/secret.txt");
    clearFolderCache();
    const descriptors = openDescriptorCount(base);
    const before = await exactSnapshot(bob);
    const swapper = await startSwapper(alice, "x", join(bob, "swapdir"), SWAP_MS, mode);
    const outcomes: Outcomes = new Map();
    let rounds = 0;
    try {
      while (swapper.running() && rounds < MAX_ROUNDS) {
        await attackRound(storage, rounds++, outcomes);
      }
    } finally {
      await swapper.finished.catch(() => 0);
    }
    const swaps = await swapper.finished;
    console.log(`${mode} swaps: ${swaps}, rounds: ${rounds}; ${describe(outcomes)}`);
    const leaks = [...outcomes].filter(([, counts]) => counts.has("LEAKED")).map(([name]) => name);
    const after = await exactSnapshot(bob);
    assert.deepEqual({
      leaks,
      bobsEntriesChangedOrGone: before.filter((line) => !after.includes(line)),
      bobsEntriesNew: after.filter((line) => !before.includes(line)),
    }, { leaks: [], bobsEntriesChangedOrGone: [], bobsEntriesNew: [] });
    clearFolderCache();
    await storage.tidy(); // Old versions of overwritten files wait in a folder it holds open.
    assert.equal(openDescriptorCount(base), descriptors, "every descriptor opened was closed");
    assert.ok(rounds > 0 && swaps > 0);
    assert.equal(await readFileText(storage, "/x/secret.txt"), "alice's own");
  });
}

Deno.test("a folder swapped for a symlink to bob's folder lets nothing reach bob", async () => {
  await raceScene("folder");
});

Deno.test("a symlink swapped between alice's folder and bob's lets nothing reach bob", async () => {
  await raceScene("link");
});
