import assert from "node:assert/strict";
import { join } from "node:path";
import { PinnedDirectory } from "../../src/storage/pinned_directory.ts";
import { readPrivateFile } from "../../src/storage/private_files.ts";

Deno.test("readPrivateFile reads a small regular file read-only, and refuses what is not one without blocking", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-private-" });
  try {
    await Deno.writeTextFile(join(dir, "record.json"), "{}");
    await Deno.writeTextFile(join(dir, "big.json"), "x".repeat(100));
    await Deno.writeTextFile(join(dir, "elsewhere"), "not in the record");
    await Deno.symlink(join(dir, "elsewhere"), join(dir, "link.json"));
    await new Deno.Command("mkfifo", { args: [join(dir, "fifo.json")] }).output();
    await Deno.chmod(join(dir, "record.json"), 0o400); // Read-only is enough.
    using folder = PinnedDirectory.open(dir);
    assert.equal(new TextDecoder().decode(readPrivateFile(folder, "record.json", 64)!), "{}");
    assert.equal(readPrivateFile(folder, "big.json", 64), null, "longer than the bound");
    assert.equal(readPrivateFile(folder, "link.json", 64), null, "a link is not the file itself");
    assert.equal(
      readPrivateFile(folder, "fifo.json", 64),
      null,
      "a FIFO opens at once and is refused",
    );
    assert.equal(readPrivateFile(folder, "missing.json", 64), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
