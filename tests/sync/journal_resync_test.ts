/**
 * A re-sync against a real server asks the server's journal what changed
 * since the last run instead of listing the folder again, and still sees
 * every change: another client's upload, and a file changed on the server's
 * disk behind its back (which makes it list once, to hash the file).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";
import { testContext } from "../helpers/sync_context.ts";
import { openSyncSides } from "../../src/sync/remote_folder.ts";
import { runSync, type SyncSides } from "../../src/sync/run_sync.ts";
import { SyncStateStore } from "../../src/sync/state_store.ts";
import {
  FOUND_BEHIND_BACK,
  foundBehindBack,
  openClient,
  runClient,
  serverLogLines,
  startServer,
} from "../helpers/processes.ts";

Deno.test("a re-sync takes the server's changes from its journal, without listing the folder again", async () => {
  await using server = await startServer(["--max-sessions-per-user=2", "--rescan-interval=0.05"]);
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-journal-" });
  const store = SyncStateStore.open(join(dir, "sync.db"));
  const context = testContext(await openClient(server));
  try {
    const local = join(dir, "local");
    await Deno.mkdir(local);
    await Deno.writeTextFile(join(local, "one.txt"), "one\n");
    let listings = 0;
    const sides = async (): Promise<SyncSides> => {
      const opened = await openSyncSides(context, store, { local, remote: "/j" }, SILENT_PROGRESS);
      const listTree = opened.remote.listTree.bind(opened.remote);
      opened.remote.listTree = () => {
        listings++;
        return listTree();
      };
      return opened;
    };
    await runSync(await sides(), { host: "test" });
    assert.equal(listings, 1, "the first run lists the folder");
    await runSync(await sides(), { host: "test" });
    assert.equal(listings, 1, "nothing changed: no listing");

    await Deno.writeTextFile(join(dir, "two.txt"), "two\n");
    const put = await runClient(server, ["put", "two.txt", "/j/two.txt"], { cwd: dir });
    assert.equal(put.code, 0, put.stderr);
    await runSync(await sides(), { host: "test" });
    assert.equal(await Deno.readTextFile(join(local, "two.txt")), "two\n");
    assert.equal(listings, 1, "another client's upload came from the journal");

    const onDisk = join(server.storageDir, "alice", "j", "one.txt");
    const found = await serverLogLines(server, FOUND_BEHIND_BACK);
    await Deno.writeTextFile(onDisk, "edited on the server's disk\n");
    // The server finds it by its comparison in the background, and a sync then takes it.
    await foundBehindBack(server, found);
    await runSync(await sides(), { host: "test" });
    assert.equal(await Deno.readTextFile(join(local, "one.txt")), "edited on the server's disk\n");
  } finally {
    store.close();
    await context.connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});
