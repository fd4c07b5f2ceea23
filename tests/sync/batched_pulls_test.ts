/**
 * A sync pulls its small files many to a request (`ReadFiles`, PROTOCOL.md
 * §5.4.1), each put in place only while the local path is as the sync saw
 * it: a new file takes its name only if nothing is there by then (a hard
 * link, no check-then-rename window), a replaced one only after the local
 * file was checked again.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Progress, SILENT_PROGRESS } from "../../src/client/progress.ts";
import { WholeFileReads } from "../../src/client/whole_file_reads.ts";
import { countCalls, testContext } from "../helpers/sync_context.ts";
import { openSyncSides } from "../../src/sync/remote_folder.ts";
import { runSync } from "../../src/sync/run_sync.ts";
import { SyncStateStore } from "../../src/sync/state_store.ts";
import { openClient, startServer } from "../helpers/processes.ts";

/** Names in `folder` that a download leaves behind while it runs (partials, resume records). */
function leftovers(folder: string): string[] {
  return [...Deno.readDirSync(folder)].map((entry) => entry.name).filter((name) =>
    name.includes(".dfos-part")
  );
}

Deno.test("a sync pulls its small files many to a request, with their content and times", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-pulls-" });
  const store = SyncStateStore.open(join(dir, "sync.db"));
  const connection = await openClient(server);
  const context = testContext(connection);
  try {
    const remote = join(server.storageDir, "alice", "s");
    const texts = Array.from({ length: 500 }, (_, index) => `file ${index}\n`);
    for (const [index, text] of texts.entries()) {
      const folder = join(remote, `d${index % 5}`);
      await Deno.mkdir(folder, { recursive: true });
      await Deno.writeTextFile(join(folder, `f${index}.txt`), text);
      await Deno.utime(join(folder, `f${index}.txt`), 1_700_000_000 + index, 1_700_000_000 + index);
    }
    const large = new Uint8Array(300 * 1024).fill(7);
    await Deno.writeFile(join(remote, "large.bin"), large);
    const local = join(dir, "local");
    await Deno.mkdir(local);
    const sync = async () =>
      await runSync(
        await openSyncSides(context, store, { local, remote: "/s" }, SILENT_PROGRESS),
        { host: "test" },
      );
    const sent = countCalls(connection);
    const first = await sync();
    assert.deepEqual(first.execution?.failed, []);
    const batches = sent.get("ReadFiles") ?? 0;
    assert.ok(batches >= 2 && batches <= 20, `${batches} ReadFiles for ${texts.length} files`);
    for (const [index, text] of texts.entries()) {
      const path = join(local, `d${index % 5}`, `f${index}.txt`);
      assert.equal(await Deno.readTextFile(path), text);
      assert.equal((await Deno.stat(path)).mtime?.getTime(), (1_700_000_000 + index) * 1000);
    }
    assert.deepEqual(await Deno.readFile(join(local, "large.bin")), large);
    for (let index = 0; index < 5; index++) {
      assert.deepEqual(leftovers(join(local, `d${index}`)), []);
    }
    sent.clear();
    const second = await sync();
    assert.equal(second.totals.failed, 0);
    assert.equal(second.plan.actions.length, 0, "in step after the pulls");
    assert.equal(sent.get("ReadFiles") ?? 0, 0);
  } finally {
    store.close();
    await connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A {@link Progress} that runs `meanwhile` once the file's bytes have arrived, before it is placed. */
function arriving(meanwhile: () => void): Progress {
  return { ...SILENT_PROGRESS, grow: meanwhile };
}

Deno.test("a pulled new file does not take a name something took meanwhile; nothing is left behind", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "dfos-pull-noclobber-" });
  const connection = await openClient(server);
  try {
    await Deno.writeTextFile(join(server.storageDir, "alice", "new.txt"), "the server's\n");
    await Deno.writeTextFile(join(server.storageDir, "alice", "link.txt"), "the server's\n");
    const reads = new WholeFileReads(connection, {});
    const target = join(dir, "new.txt");
    const made: string[] = [];
    await assert.rejects(
      reads.download("/new.txt", 13, target, {
        noClobber: true,
        progress: arriving(() => Deno.writeTextFileSync(target, "made here meanwhile\n")),
        beforeReplace: () => made.push("asked"),
      }),
      /already exists/,
    );
    assert.equal(await Deno.readTextFile(target), "made here meanwhile\n", "not overwritten");
    assert.deepEqual(made, ["asked"], "what is there now was asked about");
    assert.deepEqual(leftovers(dir), []);

    // A link leading nowhere counts as something there too.
    const link = join(dir, "link.txt");
    await assert.rejects(
      reads.download("/link.txt", 13, link, {
        noClobber: true,
        progress: arriving(() => Deno.symlinkSync("nowhere", link)),
      }),
      /already exists/,
    );
    assert.equal(Deno.readLinkSync(link), "nowhere");
    assert.deepEqual(leftovers(dir), []);
  } finally {
    await connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pulled file replaces a local one only if the check just before says so", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "dfos-pull-check-" });
  const connection = await openClient(server);
  try {
    await Deno.writeTextFile(join(server.storageDir, "alice", "a.txt"), "the server's\n");
    const target = join(dir, "a.txt");
    await Deno.writeTextFile(target, "local, as the sync saw it\n");
    const reads = new WholeFileReads(connection, {});
    const refusal = new Error("changed since the sync looked at it");
    await assert.rejects(
      reads.download("/a.txt", 13, target, {
        force: true,
        progress: arriving(() => Deno.writeTextFileSync(target, "edited meanwhile\n")),
        beforeReplace: () => {
          throw refusal;
        },
      }),
      (error) => error === refusal,
    );
    assert.equal(await Deno.readTextFile(target), "edited meanwhile\n");
    assert.deepEqual(leftovers(dir), []);
    // With the check passing, it is replaced.
    await reads.download("/a.txt", 13, target, { force: true, progress: SILENT_PROGRESS });
    assert.equal(await Deno.readTextFile(target), "the server's\n");
    assert.deepEqual(leftovers(dir), []);
  } finally {
    await connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});
