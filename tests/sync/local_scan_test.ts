import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { IgnoreRules } from "../../src/sync/ignore_rules.ts";
import { scanLocal } from "../../src/sync/local_scan.ts";
import type { BaseEntry } from "../../src/sync/sync_entry.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

async function folder(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "dfos-scan-" });
  for (const [path, content] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), content);
  }
  return root;
}

Deno.test("the local scan lists files and folders with size, inode and SHA-256, and skips links", async () => {
  const root = await folder({ "a.txt": "alpha", "sub/b.txt": "beta", "sub/deep/c.txt": "" });
  try {
    await Deno.symlink("a.txt", join(root, "link"));
    const scan = await scanLocal(root, { base: new Map(), ignore: new IgnoreRules() });
    assert.deepEqual([...scan.tree.keys()].sort(), [
      "a.txt",
      "sub",
      "sub/b.txt",
      "sub/deep",
      "sub/deep/c.txt",
    ]);
    assert.equal(scan.tree.get("a.txt")!.sha256, sha("alpha"));
    assert.equal(scan.tree.get("sub/deep/c.txt")!.sha256, sha(""));
    assert.equal(scan.tree.get("sub")!.kind, "directory");
    assert.ok(scan.tree.get("a.txt")!.inode! > 0);
    assert.deepEqual(scan.skipped, [{ path: "link", reason: "a symbolic link" }]);
    assert.equal(scan.hashedBytes, 9);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a file whose size, mtime and inode match the remembered state is not read again", async () => {
  const root = await folder({ "same.txt": "unchanged", "edited.txt": "new text" });
  try {
    const first = await scanLocal(root, { base: new Map(), ignore: new IgnoreRules() });
    const base = new Map<string, BaseEntry>();
    for (const [path, entry] of first.tree) {
      base.set(path, {
        kind: entry.kind,
        size: entry.size,
        sha256: path === "same.txt" ? "remembered" : entry.sha256,
        localMtimeNs: entry.mtimeNs,
        localInode: entry.inode,
        remoteMtimeNs: 0n,
      });
    }
    const edited = base.get("edited.txt")!;
    base.set("edited.txt", { ...edited, localMtimeNs: edited.localMtimeNs - 1_000_000n });
    const second = await scanLocal(root, { base, ignore: new IgnoreRules() });
    assert.equal(second.tree.get("same.txt")!.sha256, "remembered", "taken from the state");
    assert.equal(second.tree.get("edited.txt")!.sha256, sha("new text"), "hashed again");
    assert.equal(second.hashedBytes, "new text".length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ignore rules and DFOS's own partial files keep paths out of the scan", async () => {
  const root = await folder({
    "keep.txt": "k",
    "debug.log": "d",
    "build/out.bin": "o",
    ".big.iso.dfos-part": "p",
    "important.log": "i",
  });
  try {
    const ignore = new IgnoreRules(["*.log\nbuild/\n!important.log\n"]);
    const scan = await scanLocal(root, { base: new Map(), ignore });
    assert.deepEqual([...scan.tree.keys()].sort(), ["important.log", "keep.txt"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a local name the server would refuse is skipped with the reason, not sent", async () => {
  const root = await folder({ "ok.txt": "fine", "back\\slash.txt": "b", "line\nbreak.txt": "n" });
  try {
    const scan = await scanLocal(root, { base: new Map(), ignore: new IgnoreRules() });
    assert.deepEqual([...scan.tree.keys()], ["ok.txt"]);
    const reasons = scan.skipped.map((skipped) => skipped.reason).join("\n");
    assert.match(reasons, /backslashes/);
    assert.match(reasons, /control characters/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the server's private folder is skipped at the top only; plain, hidden and unicode names go through", async () => {
  const root = await folder({
    ".dfos/journal.db": "j", // The server's private folder, at the top only.
    "sub/.dfos/kept.txt": "k",
    "ünïcödé/naïve résumé.txt": "u",
    "sub/.a.dfos-part": "p",
    "sub/.dfos-part": "a plain hidden name",
  });
  try {
    const scan = await scanLocal(root, { base: new Map(), ignore: new IgnoreRules() });
    assert.deepEqual([...scan.tree.keys()].sort(), [
      "sub",
      "sub/.dfos",
      "sub/.dfos-part",
      "sub/.dfos/kept.txt",
      "ünïcödé",
      "ünïcödé/naïve résumé.txt",
    ]);
    const skipped = scan.skipped.map((skipped) => skipped.path).sort();
    assert.deepEqual(skipped, [".dfos"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
