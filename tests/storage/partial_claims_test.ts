/**
 * One upload at a time per partial, and a second one waits a little for the
 * first to let go: a client run again at once after it was killed resumes
 * instead of being refused while its old upload is still closing.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { claimPartial, isClaimed, releasePartial } from "../../src/storage/partial_claims.ts";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { assertStatus, TEST_MTIME_MS } from "./storage_test_helpers.ts";

Deno.test("a claimed partial is given to one waiter when released, and refused after the wait", async () => {
  assert.ok(await claimPartial("k"));
  const waiters = [claimPartial("k", 5_000), claimPartial("k", 5_000)];
  releasePartial("k");
  const first = await Promise.race(waiters.map((waiter, index) => waiter.then(() => index)));
  assert.equal(await waiters[first], true, "one waiter gets it");
  assert.ok(isClaimed("k"));
  const started = performance.now();
  assert.equal(await claimPartial("k", 50), false, "still held after the wait: refused");
  assert.ok(performance.now() - started >= 45);
  releasePartial("k");
  assert.equal(await waiters[1 - first], true, "the other gets it next");
  releasePartial("k");
  assert.ok(!isClaimed("k"));
});

Deno.test("an upload of a file whose earlier upload is closing resumes from it once it let go", async () => {
  const base = await Deno.makeTempDir({ prefix: "dfos-claims-" });
  try {
    const storage = await LocalStorage.open(join(base, "alice"), { fsync: false });
    const options = { size: 8, mtimeMs: TEST_MTIME_MS };
    const first = await storage.beginUpload("/f.bin", options);
    await first.write(new Uint8Array([1, 2, 3, 4]));
    const second = storage.beginUpload("/f.bin", options);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first.abort(true); // The old session closes its upload, keeping the partial.
    const resumed = await second;
    assert.equal(resumed.offset, 4, "the second upload continues after the bytes kept");
    const third = storage.beginUpload("/f.bin", options);
    await assertStatus(third, "EXISTS"); // The second is still being written after the wait.
    await resumed.abort(false);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
