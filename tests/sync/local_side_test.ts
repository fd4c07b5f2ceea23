import assert from "node:assert/strict";
import { join } from "node:path";
import { ChangedMeanwhile, LocalSide } from "../../src/sync/local_side.ts";
import { IgnoreRules } from "../../src/sync/ignore_rules.ts";
import { scanLocal } from "../../src/sync/local_scan.ts";

async function scanned(files: Record<string, string>) {
  const root = await Deno.makeTempDir({ prefix: "dfos-side-" });
  for (const [path, content] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), content);
  }
  const { tree } = await scanLocal(root, { base: new Map(), ignore: new IgnoreRules() });
  return { root, tree, side: new LocalSide(root) };
}

Deno.test("a local delete or move goes ahead only if the file is still as scanned", async () => {
  const { root, tree, side } = await scanned({ "a.txt": "one", "b.txt": "two", "d/c.txt": "3" });
  try {
    await side.rename("a.txt", "moved/a.txt", tree.get("a.txt")!);
    assert.equal(await Deno.readTextFile(join(root, "moved/a.txt")), "one");
    await Deno.writeTextFile(join(root, "b.txt"), "edited after the scan");
    await assert.rejects(() => side.delete("b.txt", tree.get("b.txt")!), ChangedMeanwhile);
    assert.equal(await Deno.readTextFile(join(root, "b.txt")), "edited after the scan");
    await assert.rejects(() => side.delete("d", tree.get("d")!), ChangedMeanwhile);
    await side.delete("d/c.txt", tree.get("d/c.txt")!);
    await side.delete("d", tree.get("d")!);
    assert.deepEqual([...Deno.readDirSync(root)].map((entry) => entry.name).sort(), [
      "b.txt",
      "moved",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a local move never replaces a file that appeared at the target", async () => {
  const { root, tree, side } = await scanned({ "a.txt": "mine", "b.txt": "theirs" });
  try {
    await assert.rejects(() => side.rename("a.txt", "b.txt", tree.get("a.txt")!), ChangedMeanwhile);
    assert.equal(await Deno.readTextFile(join(root, "a.txt")), "mine");
    assert.equal(await Deno.readTextFile(join(root, "b.txt")), "theirs");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
