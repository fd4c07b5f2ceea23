import assert from "node:assert/strict";
import { QuotaLedger, USAGE_CACHE_MS } from "../../src/server/quota.ts";
import { STATUS } from "../../src/protocol/status.ts";
import { type Storage, StorageError } from "../../src/storage/storage.ts";

function storageUsing(bytes: number): Storage & { walks: number } {
  const storage = { walks: 0, usage: () => (storage.walks++, Promise.resolve(bytes)) };
  return storage as unknown as Storage & { walks: number };
}

function refusedWith(code: number) {
  return (error: unknown) => error instanceof StorageError && error.code === code;
}

Deno.test("without limits everything is allowed and storage is never walked", async () => {
  const ledger = new QuotaLedger({});
  const storage = storageUsing(10 ** 12);
  ledger.checkFileSize("/x", 10 ** 15);
  (await ledger.reserve("alice", storage, "/x", 10 ** 15))(0);
  assert.equal(storage.walks, 0);
});

Deno.test("a file over the size limit is refused with TOO_LARGE", () => {
  const ledger = new QuotaLedger({ maxFileBytes: 1000 });
  ledger.checkFileSize("/ok", 1000);
  assert.throws(() => ledger.checkFileSize("/big", 1001), refusedWith(STATUS.TOO_LARGE));
});

Deno.test("reservations of concurrent uploads add up against the quota", async () => {
  const ledger = new QuotaLedger({ quotaBytes: 1000 });
  const storage = storageUsing(400);
  const first = await ledger.reserve("alice", storage, "/a", 300);
  await assert.rejects(
    ledger.reserve("alice", storage, "/b", 301),
    refusedWith(STATUS.QUOTA_EXCEEDED),
  );
  (await ledger.reserve("bob", storageUsing(0), "/b", 1000))(0);
  first(300);
  await assert.rejects(
    ledger.reserve("alice", storage, "/c", 301),
    refusedWith(STATUS.QUOTA_EXCEEDED),
  );
  (await ledger.reserve("alice", storage, "/c", 300))(0);
  assert.equal(storage.walks, 1, "usage is measured once, then kept up to date");
});

Deno.test("releasing twice releases once", async () => {
  const ledger = new QuotaLedger({ quotaBytes: 100 });
  const storage = storageUsing(0);
  const hold = await ledger.reserve("alice", storage, "/a", 100);
  hold(0);
  hold(0);
  const again = await ledger.reserve("alice", storage, "/b", 100);
  await assert.rejects(
    ledger.reserve("alice", storage, "/c", 1),
    refusedWith(STATUS.QUOTA_EXCEEDED),
  );
  again(0);
});

Deno.test("measured usage is trusted for USAGE_CACHE_MS on the ledger's clock, then measured again", async () => {
  let now = 1_000_000;
  const ledger = new QuotaLedger({ quotaBytes: 1000 }, { now: () => now });
  const storage = storageUsing(0);
  (await ledger.reserve("alice", storage, "/a", 10))(0);
  now += USAGE_CACHE_MS - 1;
  (await ledger.reserve("alice", storage, "/b", 10))(0);
  assert.equal(storage.walks, 1, "still fresh");
  now += 1;
  (await ledger.reserve("alice", storage, "/c", 10))(0);
  assert.equal(storage.walks, 2, "stale: measured again");
});

Deno.test("space freed is usable at once: forget makes the next reservation measure again", async () => {
  const ledger = new QuotaLedger({ quotaBytes: 1000 }, { now: () => 0 });
  let used = 900;
  const storage = {
    usage: () => Promise.resolve(used),
  } as unknown as Storage;
  await assert.rejects(
    ledger.reserve("alice", storage, "/big", 500),
    refusedWith(STATUS.QUOTA_EXCEEDED),
  );
  used = 100; // A file was removed.
  await assert.rejects(
    ledger.reserve("alice", storage, "/big", 500),
    refusedWith(STATUS.QUOTA_EXCEEDED),
    "the cached usage still counts the removed file",
  );
  ledger.forget("alice");
  (await ledger.reserve("alice", storage, "/big", 500))(500);
});

/** A storage using `bytes`, of which `partials` are unfinished uploads (`inProgress` being written). */
function storageWithPartials(bytes: number, partials: number, inProgress = 0): Storage {
  return {
    usage: () => Promise.resolve(bytes),
    listPartials: () =>
      Promise.resolve({
        partials: [],
        more: true,
        count: 1,
        bytes: partials,
        bytesInProgress: inProgress,
      }),
  } as unknown as Storage;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (error) => error);
  assert.ok(error instanceof StorageError && error.code === STATUS.QUOTA_EXCEEDED, String(error));
  return error.message;
}

Deno.test("a refusal says what is free and how much of the usage is discardable partials", async () => {
  const MiB = 1024 * 1024;
  const ledger = new QuotaLedger({ quotaBytes: 10 * MiB });
  const storage = storageWithPartials(3.9 * MiB, 3.9 * MiB);
  assert.equal(
    await refusal(ledger.reserve("alice", storage, "/b.bin", 8 * MiB)),
    "/b.bin: quota exceeded: the upload needs 8.0 MiB, but only 6.1 MiB of alice's 10.0 MiB " +
      "quota is free (3.9 MiB of the usage is unfinished uploads: `partials` lists them, " +
      "`partials rm` discards them)",
  );
  const busy = storageWithPartials(3.9 * MiB, 3.9 * MiB, 3.9 * MiB);
  assert.equal(
    await refusal(new QuotaLedger({ quotaBytes: 10 * MiB }).reserve("bob", busy, "/b", 8 * MiB)),
    "/b: quota exceeded: the upload needs 8.0 MiB, but only 6.1 MiB of bob's 10.0 MiB quota is free",
    "partials being written cannot be discarded, so they are not offered",
  );
  const plain = await refusal(ledger.reserve("carol", storageUsing(9 * MiB), "/c", 2 * MiB));
  assert.doesNotMatch(plain, /unfinished|partials/, "a storage that cannot tell says less");
});

Deno.test("discarded partials are taken off the measured usage at once", async () => {
  const ledger = new QuotaLedger({ quotaBytes: 1000 });
  const storage = storageWithPartials(600, 600);
  await refusal(ledger.reserve("alice", storage, "/a", 500));
  ledger.discarded("alice", 600);
  (await ledger.reserve("alice", storage, "/a", 1000))(0);
  ledger.discarded("bob", 600); // Never measured: nothing to take off.
});
