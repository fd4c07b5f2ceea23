/**
 * Ignore rules that only the server's copy of the folder has: the local
 * folder, without rules of its own, is walked in a worker from the start;
 * once the server's `.dfosignore` arrives, that walk is dropped and the
 * folder walked again with the rules.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer } from "../helpers/processes.ts";

Deno.test("the server's .dfosignore keeps a machine's files out even when that machine has no rules file", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-ignore-" });
  try {
    const local = join(dir, "b");
    await Deno.mkdir(join(local, "cache"), { recursive: true });
    await Deno.writeTextFile(join(local, "notes.txt"), "kept\n");
    await Deno.writeTextFile(join(local, "trace.log"), "noise\n");
    await Deno.writeTextFile(join(local, "cache", "blob.bin"), "cached\n");
    const remote = join(server.storageDir, "alice", "shared");
    await Deno.mkdir(remote, { recursive: true });
    await Deno.writeTextFile(join(remote, ".dfosignore"), "*.log\ncache/\n");

    const result = await runClient(server, ["sync", "b", "/shared"], {
      cwd: dir,
      env: { XDG_STATE_HOME: join(dir, "state") },
    });
    assert.equal(result.code, 0, result.stderr);
    const names = [...Deno.readDirSync(remote)].map((entry) => entry.name).sort();
    assert.deepEqual(names, [".dfosignore", "notes.txt"], "only what the rules let through");
    assert.equal(await Deno.readTextFile(join(local, ".dfosignore")), "*.log\ncache/\n");
    assert.equal(await Deno.readTextFile(join(local, "trace.log")), "noise\n", "left alone");
    assert.equal(await Deno.readTextFile(join(local, "cache", "blob.bin")), "cached\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
