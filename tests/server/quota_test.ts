import assert from "node:assert/strict";
import { QuotaLedger } from "../../src/server/quota.ts";
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
