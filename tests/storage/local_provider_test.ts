import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorageProvider } from "../../src/storage/local_provider.ts";
import { storageProviderFor } from "../../src/storage/storage_location.ts";
import { bytesOf, putFile, readFileText, TEST_MTIME_MS } from "./storage_test_helpers.ts";

async function withProvider(body: (provider: LocalStorageProvider) => Promise<void>) {
  const base = await Deno.makeTempDir({ prefix: "dfos-provider-" });
  try {
    const provider = new LocalStorageProvider(join(base, "storage"));
    await provider.prepare();
    await body(provider);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

Deno.test("a folder location selects the local provider on that folder", () => {
  const provider = storageProviderFor("some/folder");
  assert.ok(provider instanceof LocalStorageProvider);
  assert.equal(provider.location, "some/folder");
});

Deno.test("the local provider opens each user's own folder, created on first use", async () => {
  await withProvider(async (provider) => {
    assert.deepEqual(await provider.listUsers(), []);
    await putFile(await provider.open("alice"), "/a.txt", "alice's");
    await putFile(await provider.open("bob"), "/a.txt", "bob's");
    assert.equal(await readFileText(await provider.open("alice"), "/a.txt"), "alice's");
    assert.equal((await Deno.stat(join(provider.location, "bob"))).mode! & 0o777, 0o700);
    await Deno.mkdir(join(provider.location, ".hidden"));
    await Deno.writeTextFile(join(provider.location, "stray.txt"), "not a user");
    assert.deepEqual((await provider.listUsers()).sort(), ["alice", "bob"]);
  });
});

Deno.test("the local provider sweeps stale partials of every user, and only stale ones", async () => {
  await withProvider(async (provider) => {
    for (const user of ["alice", "bob"]) {
      const upload = await (await provider.open(user)).beginUpload("/big.bin", {
        size: 10,
        mtimeMs: TEST_MTIME_MS,
      });
      await upload.write(bytesOf("abc"));
      await upload.abort(true);
    }
    const aliceRoot = join(provider.location, "alice");
    const partialFolder = join(aliceRoot, ".dfos", "partial");
    const past = new Date(Date.now() - 3_600_000);
    for await (const entry of Deno.readDir(partialFolder)) {
      await Deno.utime(join(partialFolder, entry.name), past, past);
    }
    assert.deepEqual(await provider.sweepPartials(60_000), [{ user: "alice", removed: 1 }]);
    assert.equal((await (await provider.open("alice")).listPartials()).count, 0);
    assert.equal((await (await provider.open("bob")).listPartials()).count, 1);
  });
});
