/**
 * A sync pushes its small files many to a request, each still conditional
 * on what the sync saw of its target (`WriteFilesIf`, PROTOCOL.md §5.9.4):
 * no request per file, a large file streamed on its own, and a file
 * changed on the server meanwhile never overwritten (that push fails alone;
 * the next run keeps both versions).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";
import { RemoteError } from "../../src/client/errors.ts";
import { STATUS } from "../../src/protocol/status.ts";
import { countCalls, testContext } from "../helpers/sync_context.ts";
import { openSyncSides } from "../../src/sync/remote_folder.ts";
import { runSync } from "../../src/sync/run_sync.ts";
import { SyncStateStore } from "../../src/sync/state_store.ts";
import { openClient, startServer } from "../helpers/processes.ts";

Deno.test("a sync pushes its small files many to a request, each on its own condition; a file changed on the server meanwhile is kept", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-batched-" });
  const store = SyncStateStore.open(join(dir, "sync.db"));
  const connection = await openClient(server);
  const context = testContext(connection);
  try {
    const local = join(dir, "local");
    const texts = Array.from({ length: 500 }, (_, index) => `file ${index}\n`);
    for (const [index, text] of texts.entries()) {
      const folder = join(local, `d${index % 5}`);
      await Deno.mkdir(folder, { recursive: true });
      await Deno.writeTextFile(join(folder, `f${index}.txt`), text);
    }
    const large = new Uint8Array(300 * 1024).fill(9);
    await Deno.writeFile(join(local, "large.bin"), large);
    const sync = async () =>
      await runSync(
        await openSyncSides(context, store, { local, remote: "/s" }, SILENT_PROGRESS),
        { host: "test" },
      );
    const sent = countCalls(connection);
    const first = await sync();
    assert.deepEqual(first.execution?.failed, []);
    assert.equal(sent.get("WriteFileIf") ?? 0, 0, "no small file on its own");
    const batches = sent.get("WriteFilesIf") ?? 0;
    assert.ok(batches >= 2 && batches <= 20, `${batches} WriteFilesIf for ${texts.length} files`);
    const remote = join(server.storageDir, "alice", "s");
    for (const [index, text] of texts.entries()) {
      assert.equal(await Deno.readTextFile(join(remote, `d${index % 5}`, `f${index}.txt`)), text);
    }
    assert.deepEqual(await Deno.readFile(join(remote, "large.bin")), large);

    // Edits on both sides of one file, and local edits of others: the server's edit is kept.
    for (let index = 0; index < 50; index++) {
      await Deno.writeTextFile(join(local, `d${index % 5}`, `f${index}.txt`), `edited ${index}\n`);
    }
    await Deno.writeTextFile(join(remote, "d0", "f0.txt"), "the server's own edit\n");
    sent.clear();
    const second = await sync();
    assert.equal(sent.get("WriteFileIf") ?? 0, 0);
    assert.ok((sent.get("WriteFilesIf") ?? 0) >= 1);
    // Its condition caught the server's edit: that push alone failed, and nothing was overwritten.
    const failed = second.execution?.failed ?? [];
    assert.deepEqual(failed.map(({ action }) => action.path), ["d0/f0.txt"]);
    assert.equal((failed[0].error as RemoteError).code, STATUS.CONFLICT);
    assert.equal(await Deno.readTextFile(join(remote, "d0", "f0.txt")), "the server's own edit\n");
    for (let index = 1; index < 50; index++) {
      const path = join(remote, `d${index % 5}`, `f${index}.txt`);
      assert.equal(await Deno.readTextFile(path), `edited ${index}\n`);
    }
    // The next run sees both edits: it keeps both versions.
    const third = await sync();
    assert.deepEqual(third.execution?.failed, []);
    const d0 = [...Deno.readDirSync(join(remote, "d0"))].map((entry) => entry.name);
    const kept = d0.filter((name) => name.startsWith("f0.sync-conflict-"));
    const versions = [
      await Deno.readTextFile(join(remote, "d0", "f0.txt")),
      ...await Promise.all(kept.map((name) => Deno.readTextFile(join(remote, "d0", name)))),
    ].sort();
    assert.deepEqual(versions, ["edited 0\n", "the server's own edit\n"], "both versions kept");
  } finally {
    store.close();
    await connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});
