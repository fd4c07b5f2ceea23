/**
 * Confinement through the real server and client: a folder swapped for a
 * symlink to bob's folder while alice works in it, a planted link to the
 * private .dfos folder, and a link inside the tree a `get -r` must not follow.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ClientConnection } from "../../src/client/connection.ts";
import { RemoteError } from "../../src/client/errors.ts";
import { downloadFile, readRemote, uploadFile } from "../../src/client/file_transfer.ts";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";
import { seededBytes } from "../helpers/files.ts";
import { openClient, runClient, startServer } from "../helpers/processes.ts";
import { exactSnapshot, startSwapper } from "../helpers/race.ts";

const BOB_SECRET = "BOB-SECRET-must-never-leave-bob";
const BOB_MTIME_MS = 1_234_567_890_123;
/** Rounds at most; each removes its own victim file. */
const MAX_ROUNDS = 400;

/** Bob's folder holds every name alice's requests use, with his content and mtime. */
async function plantBob(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "sub"), { recursive: true });
  const files = ["secret.txt", "a.txt", "sub/deep.txt", "bob-only.txt"];
  for (let round = 0; round < MAX_ROUNDS; round++) files.push(`victim-${round}`);
  for (const file of files) {
    await Deno.writeTextFile(join(dir, file), BOB_SECRET);
    await Deno.utime(join(dir, file), BOB_MTIME_MS / 1000, BOB_MTIME_MS / 1000);
  }
}

async function plantAlice(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "sub"), { recursive: true });
  for (const file of ["secret.txt", "a.txt", "sub/deep.txt"]) {
    await Deno.writeTextFile(join(dir, file), "alice's own");
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await Deno.writeTextFile(join(dir, `victim-${round}`), "v");
  }
}

/** Every request alice makes in one round; each resolves to what came back. */
function round(connection: ClientConnection, local: string, index: number) {
  const text = async (path: string) => {
    const chunks: Uint8Array[] = [];
    await readRemote(connection, path, 0, (bytes) => Promise.resolve(void chunks.push(bytes)));
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
  };
  const options = { force: true, resume: false, progress: SILENT_PROGRESS };
  return [
    () => text("/x/secret.txt"),
    () => text("/x/sub/deep.txt"),
    () =>
      connection.stat("/x/secret.txt").then(({ entry }) =>
        entry.mtimeMs === BOB_MTIME_MS ? BOB_SECRET : ""
      ),
    () =>
      connection.list("/x").then((entries) =>
        entries.map((entry) => entry.name).join(" ").replace("bob-only.txt", BOB_SECRET)
      ),
    () => uploadFile(connection, join(local, "small.txt"), `/x/u-${index}`, options),
    () => uploadFile(connection, join(local, "large.bin"), `/x/big-${index}`, options),
    () => uploadFile(connection, join(local, "small.txt"), "/x/a.txt", options),
    () => connection.mkdir(`/x/m-${index}`, false),
    () => connection.remove(`/x/victim-${index}`, false),
    () =>
      connection.rename("/x/secret.txt", "/x/moved.txt", false).then(() =>
        connection.rename("/x/moved.txt", "/x/secret.txt", false)
      ),
    () =>
      downloadFile(connection, "/x/sub/deep.txt", join(local, `deep-${index}`), options)
        .then(() => Deno.readTextFile(join(local, `deep-${index}`))),
  ];
}

Deno.test("through the real server, a folder swapped for a symlink to bob's folder lets nothing reach bob", async () => {
  await using server = await startServer();
  const alice = join(server.storageDir, "alice");
  const bob = join(server.storageDir, "bob");
  await plantAlice(join(alice, "x"));
  await plantBob(join(bob, "swapdir"));
  const local = await Deno.makeTempDir({ prefix: "dfos-race-local-" });
  await Deno.writeTextFile(join(local, "small.txt"), "small upload");
  await Deno.writeFile(join(local, "large.bin"), seededBytes(300 * 1024, 5));
  const connection = await openClient(server);
  const before = await exactSnapshot(bob);
  const outcomes = new Map<string, number>();
  let rounds = 0;
  try {
    const swapper = await startSwapper(alice, "x", join(bob, "swapdir"), 3_000, "folder");
    try {
      while (swapper.running() && rounds < MAX_ROUNDS) {
        for (const request of round(connection, local, rounds)) {
          const result = await request().then(
            (value) => JSON.stringify(value ?? "").includes("BOB-SECRET") ? "LEAKED" : "ok",
            (error) => error instanceof RemoteError ? error.status : Promise.reject(error),
          );
          outcomes.set(result, (outcomes.get(result) ?? 0) + 1);
        }
        rounds++;
      }
    } finally {
      await swapper.finished.catch(() => 0);
    }
    console.log(
      `${rounds} rounds: ${[...outcomes].map(([result, n]) => `${result}×${n}`).join(" ")}`,
    );
    assert.equal(outcomes.get("LEAKED") ?? 0, 0, "no reply carried bob's data");
    const after = await exactSnapshot(bob);
    assert.deepEqual(
      {
        changedOrGone: before.filter((line) => !after.includes(line)),
        added: after.filter((line) => !before.includes(line)),
      },
      { changedOrGone: [], added: [] },
      "bob's folder is untouched",
    );
    assert.ok(rounds > 0 && (outcomes.get("ok") ?? 0) > 0, "alice was served meanwhile");
    assert.equal(connection.closed, false);
  } finally {
    await connection.close();
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("a planted link to .dfos lists, reads, writes and deletes nothing there", async () => {
  await using server = await startServer();
  const alice = join(server.storageDir, "alice");
  const partials = join(alice, ".dfos", "partial");
  await Deno.mkdir(partials, { recursive: true });
  await Deno.writeTextFile(join(partials, "kept"), "a partial upload");
  await Deno.symlink(".dfos", join(alice, "dl"));
  await Deno.symlink(".dfos/partial", join(alice, "pl"));
  const local = await Deno.makeTempDir({ prefix: "dfos-dfos-local-" });
  await Deno.writeTextFile(join(local, "evil.txt"), "overwrite");
  const before = await exactSnapshot(join(alice, ".dfos"));
  try {
    const attempts = [
      ["ls", "dl"],
      ["ls", "dl/partial"],
      ["ls", "pl"],
      ["cat", "pl/kept"],
      ["get", "dl/partial/kept", join(local, "stolen")],
      ["put", "-f", join(local, "evil.txt"), "pl/kept"],
      ["put", join(local, "evil.txt"), "dl/partial/new"],
      ["mkdir", "pl/new"],
      ["mv", "pl/kept", "/stolen"],
      ["rm", "pl/kept"],
      ["rm", "-r", "dl"],
      ["rmdir", "pl"],
    ];
    for (const args of attempts) {
      const result = await runClient(server, args, { cwd: local });
      assert.equal(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, /leads into the server's private folder \.dfos/, args.join(" "));
    }
    assert.deepEqual(await exactSnapshot(join(alice, ".dfos")), before, ".dfos is unchanged");
    assert.equal(await Deno.readTextFile(join(partials, "kept")), "a partial upload");
    await assert.rejects(Deno.stat(join(local, "stolen")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("get -r skips a link to a folder of its own tree, says so, and single-file get follows it", async () => {
  await using server = await startServer();
  const alice = join(server.storageDir, "alice");
  await Deno.mkdir(join(alice, "d", "sub"), { recursive: true });
  await Deno.writeTextFile(join(alice, "d", "f.txt"), "f");
  await Deno.writeTextFile(join(alice, "d", "sub", "deep.txt"), "deep");
  await Deno.symlink(".", join(alice, "d", "loop"));
  await Deno.symlink("..", join(alice, "d", "sub", "up"));
  const local = await Deno.makeTempDir({ prefix: "dfos-link-local-" });
  try {
    const tree = await runClient(server, ["get", "-r", "d", join(local, "d")]);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stderr, /get: loop: skipped \(a symbolic link, not followed\)/);
    assert.match(tree.stderr, /get: sub\/up: skipped \(a symbolic link, not followed\)/);
    assert.deepEqual((await exactSnapshot(join(local, "d"))).map((line) => line.split(" ")[0]), [
      "/",
      "f.txt",
      "sub/",
      "sub/deep.txt",
    ]);
    const listed = await runClient(server, ["ls", "-l", "d"]);
    assert.match(listed.stdout, /^l +0 +\S+ \S+ +loop@$/m);
    assert.match((await runClient(server, ["ls", "d"])).stdout, /^loop@$/m);
    const single = await runClient(server, ["get", "d/loop/f.txt", join(local, "via-link.txt")]);
    assert.equal(single.code, 0, single.stderr);
    assert.equal(await Deno.readTextFile(join(local, "via-link.txt")), "f");
    assert.equal((await runClient(server, ["cat", "d/sub/up/f.txt"])).stdout, "f");
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});
