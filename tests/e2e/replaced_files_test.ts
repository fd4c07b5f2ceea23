/**
 * The local backend keeps a replaced file's old version under a second name
 * in `.dfos/retired` so that the rename does not free its blocks while a
 * client waits (src/storage/retired_files.ts). The server must remove those
 * names once the session has nothing left to serve, and as it ends: they
 * are disk space the user no longer has.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { seededBytes } from "../helpers/files.ts";
import {
  runClient,
  serverLogLines,
  spawnClient,
  startServer,
  waitFor,
} from "../helpers/processes.ts";

async function retiredNames(storageDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(storageDir, "alice", ".dfos", "retired"))) {
      names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

/** Waits (at most 10 s) until `.dfos/retired` of alice holds nothing. */
function retiredEmptied(storageDir: string, what: string): Promise<boolean> {
  return waitFor(async () => (await retiredNames(storageDir)).length === 0, 10_000, what);
}

Deno.test("files overwritten in an open shell leave no old version behind once the session is idle", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    await Deno.writeFile(join(local, "a.bin"), seededBytes(64 * 1024, 1));
    assert.equal((await runClient(server, ["put", "a.bin"], { cwd: local })).code, 0);
    await Deno.writeFile(join(local, "a.bin"), seededBytes(64 * 1024, 2));
    const shell = spawnClient(server, [], { cwd: local });
    await shell.send("put -f a.bin");
    await shell.send("get a.bin back.bin");
    await waitFor(
      async () => {
        try {
          return (await Deno.stat(join(local, "back.bin"))).size === 64 * 1024;
        } catch {
          return false;
        }
      },
      20_000,
      "the shell to put and get the file back",
    );
    // The session is still open: what it put off goes while it waits for the next command.
    await retiredEmptied(server.storageDir, "the old version to be freed while the shell is idle");
    assert.deepEqual(await Deno.readFile(join(local, "back.bin")), seededBytes(64 * 1024, 2));
    assert.deepEqual(
      await Deno.readFile(join(server.storageDir, "alice", "a.bin")),
      seededBytes(64 * 1024, 2),
      "what the server keeps under the name, once the old version is freed, is the new version",
    );
    assert.equal(await shell.finish(), 0, shell.stderr());
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("a tree overwritten in one command leaves no old version behind once the session has ended", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    const tree = join(local, "tree");
    await Deno.mkdir(tree);
    const write = async (seed: number) => {
      for (let index = 0; index < 50; index++) {
        await Deno.writeFile(join(tree, `f${index}.bin`), seededBytes(4096, seed * 100 + index));
      }
    };
    await write(1);
    assert.equal((await runClient(server, ["put", "-r", "tree"], { cwd: local })).code, 0);
    await write(2);
    const loggedOut = await serverLogLines(server, "logged out");
    const again = await runClient(server, ["put", "-r", "-f", "tree"], { cwd: local });
    assert.equal(again.code, 0, again.stderr);
    await waitFor(
      async () => (await serverLogLines(server, "logged out")) > loggedOut,
      10_000,
      "the session to end",
    );
    // Freed as the session ends, once its slot is free: it may finish just after the log line.
    await retiredEmptied(server.storageDir, "the old versions to be freed as the session ended");
    for (let index = 0; index < 50; index++) {
      assert.deepEqual(
        await Deno.readFile(join(server.storageDir, "alice", "tree", `f${index}.bin`)),
        seededBytes(4096, 200 + index),
      );
    }
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});
