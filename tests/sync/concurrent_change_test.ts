/**
 * Sync against a real server while another session of the same user
 * changes the folder between the plan and its execution: the conditional
 * requests refuse, the other session's version stays, and the next run
 * settles it as a conflict, with both versions kept.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Messages } from "../../src/protocol/messages.ts";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";
import { testContext } from "../helpers/sync_context.ts";
import { openSyncSides } from "../../src/sync/remote_folder.ts";
import { runSync } from "../../src/sync/run_sync.ts";
import { SyncStateStore } from "../../src/sync/state_store.ts";
import { openClient, startServer } from "../helpers/processes.ts";

Deno.test("a change made on the server by another session while a sync runs is not overwritten", async () => {
  await using server = await startServer(["--max-sessions-per-user=2"]);
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-race-" });
  const syncing = await openClient(server);
  const other = await openClient(server);
  const store = SyncStateStore.open(join(dir, "sync.db"));
  try {
    const local = join(dir, "local");
    await Deno.mkdir(local);
    await Deno.writeTextFile(join(local, "doc.txt"), "version 1\n");
    const context = testContext(syncing);
    const open = () => openSyncSides(context, store, { local, remote: "/race" }, SILENT_PROGRESS);
    await runSync(await open(), { host: "test" });

    // Edited locally; meanwhile, after the plan is made, another session edits it on the server.
    await Deno.writeTextFile(join(local, "doc.txt"), "version 2, local\n");
    const content = new TextEncoder().encode("version 2, other session\n");
    const report = await runSync(await open(), {
      host: "test",
      // Between the plan and its first step, the other session writes the file.
      onPlan: async () => {
        await other.call(Messages.WriteFile, {
          path: "/race/doc.txt",
          mtimeMs: Date.now(),
          overwrite: true,
          sha256: new Uint8Array(createHash("sha256").update(content).digest()),
          content,
        });
      },
    });
    assert.equal(report.execution?.failed.length, 1, "the upload was refused");
    assert.match(String(report.execution?.failed[0].error), /CONFLICT|changed|no longer/i);
    const stored = join(server.storageDir, "alice", "race", "doc.txt");
    assert.equal(await Deno.readTextFile(stored), "version 2, other session\n");

    const settled = await runSync(await open(), { host: "test" });
    assert.equal(settled.plan.conflicts.length, 1);
    const names = [...Deno.readDirSync(join(local))].map((entry) => entry.name).sort();
    assert.equal(names.length, 2);
    assert.equal(await Deno.readTextFile(join(local, "doc.txt")), "version 2, other session\n");
    assert.equal(await Deno.readTextFile(join(local, names[0])), "version 2, local\n");
  } finally {
    store.close();
    await syncing.close();
    await other.close();
    await Deno.remove(dir, { recursive: true });
  }
});
