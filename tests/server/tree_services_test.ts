import assert from "node:assert/strict";
import { configure, reset } from "@logtape/logtape";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import type { JournalChange } from "../../src/storage/journal.ts";
import type { TreeChange } from "../../src/server/change_feed.ts";
import { type SessionTree, TreeServices } from "../../src/server/tree_services.ts";
import { StorageError } from "../../src/storage/storage.ts";
import { statusName } from "../../src/protocol/status.ts";
import { expectedOf } from "../../src/server/conditions.ts";

const MTIME = 1_700_000_000_000;
const encoder = new TextEncoder();
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** A storage whose reads of whole files are counted. */
function counting(storage: Storage): { storage: Storage; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(storage, {
    get(target, key) {
      if (key === "openRead") {
        return (path: string) => {
          reads++;
          return target.openRead(path);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { storage: wrapped, reads: () => reads };
}

interface Fixture {
  root: string;
  services: TreeServices;
  session: SessionTree;
  changes: TreeChange[];
  reads: () => number;
  backend: Storage;
}

async function withServices(body: (fixture: Fixture) => Promise<void>): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-tree-" }));
  const root = join(base, "alice");
  const services = new TreeServices();
  const changes: TreeChange[] = [];
  services.feed.subscribe({ change: (change) => void changes.push(change) });
  const { storage: backend, reads } = counting(await LocalStorage.open(root));
  const session = await services.openSession("alice", "s1", backend);
  await session.index.ready(); // The opening scan is over: what the test changes on disk is its own.
  try {
    await body({ root, services, session, changes, reads, backend });
  } finally {
    await session.release();
    await services.closeAll();
    await Deno.remove(base, { recursive: true });
  }
}

async function put(session: SessionTree, path: string, text: string, mtimeMs = MTIME) {
  const content = encoder.encode(text);
  await session.storage.writeFile(path, content, {
    mtimeMs,
    sha256Hex: sha(text),
    overwrite: true,
  });
}

async function journalSince(session: SessionTree, sequence = 0): Promise<JournalChange[]> {
  const journal = await session.index.journal();
  const answer = await journal.since(journal.id, sequence, { limit: 1000 });
  return answer.kind === "changes" ? answer.changes : [];
}

Deno.test("every change a session makes reaches the feed with its canonical path and entry, and the journal keeps the upload's hash", () =>
  withServices(async ({ root, session, changes }) => {
    await session.storage.mkdir("/a/b", { parents: true });
    await put(session, "/a/b/f.txt", "hello");
    const upload = await session.storage.beginUpload("/a/big.bin", { size: 3, mtimeMs: MTIME });
    await upload.write(encoder.encode("abc"));
    await upload.commit(sha("abc"));
    await Deno.symlink("a", join(root, "link"));
    await session.storage.rename("/link/b", "/c");
    await session.storage.setMtime("/c/f.txt", MTIME + 1);
    await session.storage.remove("/a", { recursive: true });
    assert.deepEqual(
      changes.map((c) => [c.op, c.from ?? "", c.path, c.entry?.sha256 ?? "", c.sessionId]),
      [
        ["mkdir", "", "/a", "", "s1"],
        ["mkdir", "", "/a/b", "", "s1"],
        ["write", "", "/a/b/f.txt", sha("hello"), "s1"],
        ["write", "", "/a/big.bin", sha("abc"), "s1"],
        ["rename", "/a/b", "/c", "", "s1"],
        ["set-mtime", "", "/c/f.txt", sha("hello"), "s1"],
        ["delete", "", "/a", "", "s1"],
      ],
    );
    const journal = await session.index.journal();
    assert.deepEqual(await journal.lookup("/c/f.txt"), {
      kind: "file",
      size: 5,
      mtimeMs: MTIME + 1,
      sha256: sha("hello"),
    });
    assert.equal(await journal.lookup("/a/big.bin"), undefined);
    assert.deepEqual((await journalSince(session)).map((c) => c.op), [
      "mkdir",
      "mkdir",
      "put",
      "put",
      "rename",
      "put",
      "delete",
    ]);
  }));

Deno.test("a file changed behind the server's back is found when touched, recorded without a hash, and hashed once when needed", () =>
  withServices(async ({ root, session, changes, reads }) => {
    await put(session, "/f.txt", "first");
    await Deno.writeTextFile(join(root, "f.txt"), "changed on disk");
    const before = changes.length;
    await session.index.touch("/f.txt");
    assert.deepEqual(
      changes.slice(before).map((c) => [c.op, c.path, c.sessionId, c.entry?.sha256]),
      [
        ["write", "/f.txt", undefined, undefined],
      ],
    );
    const found = (await journalSince(session)).at(-1)!;
    assert.equal(found.sha256, undefined);
    await session.index.fillHashes([found]);
    assert.equal(found.sha256, sha("changed on disk"));
    assert.equal(reads(), 1);
    assert.equal((await journalSince(session)).at(-1)!.sha256, sha("changed on disk"), "kept");
    await session.index.locked(() => session.index.stateOf("/f.txt", true));
    assert.equal(reads(), 1, "the hash comes from the index now");
  }));

Deno.test("comparing a tree finds what was made, changed and removed behind the server's back, in path order, with hashes", () =>
  withServices(async ({ root, session, reads }) => {
    await session.storage.mkdir("/d");
    await put(session, "/d/kept.txt", "kept");
    await put(session, "/d/changed.txt", "old");
    await put(session, "/d/gone.txt", "gone");
    await session.storage.mkdir("/d/gone-folder");
    await put(session, "/d/gone-folder/inner.txt", "inner");
    await Deno.writeTextFile(join(root, "d", "changed.txt"), "new!");
    await Deno.remove(join(root, "d", "gone.txt"));
    await Deno.remove(join(root, "d", "gone-folder"), { recursive: true });
    await Deno.mkdir(join(root, "d", "made"));
    await Deno.writeTextFile(join(root, "d", "made", "x.txt"), "x");
    await Deno.writeTextFile(join(root, "d", "made-b.txt"), "b");
    await Deno.symlink("kept.txt", join(root, "d", "link"));
    const since = (await journalSince(session)).at(-1)!.sequence;
    const listed: [string, string, string | undefined][] = [];
    await session.index.compareTree("/d", {
      hashes: true,
      visit: (path, entry, sha256) => Promise.resolve(void listed.push([path, entry.kind, sha256])),
    });
    assert.deepEqual(listed, [
      ["/d/changed.txt", "file", sha("new!")],
      ["/d/kept.txt", "file", sha("kept")],
      ["/d/link", "symlink", undefined],
      ["/d/made", "directory", undefined],
      ["/d/made-b.txt", "file", sha("b")],
      ["/d/made/x.txt", "file", sha("x")],
    ]);
    assert.equal(reads(), 3, "only the files the index did not know were read");
    const found = (await journalSince(session, since)).map((c) => `${c.op} ${c.path}`);
    assert.deepEqual(found.sort(), [
      "delete /d/gone-folder",
      "delete /d/gone.txt",
      "mkdir /d/made",
      "put /d/changed.txt",
      "put /d/made-b.txt",
      "put /d/made/x.txt",
    ]);
  }));

Deno.test("a journal opened again compares the whole tree with its index: what changed while it was closed is found", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-tree-" }));
  const root = join(base, "alice");
  try {
    const first = new TreeServices();
    const one = await first.openSession("alice", "s1", await LocalStorage.open(root));
    await put(one, "/a.txt", "a");
    await one.release();
    await first.closeAll(); // The server stops.
    await Deno.writeTextFile(join(root, "b.txt"), "made while the server slept");
    const again = new TreeServices();
    const two = await again.openSession("alice", "s2", await LocalStorage.open(root));
    try {
      await two.index.ready();
      const journal = await two.index.journal();
      assert.deepEqual(await journal.lookup("/b.txt"), {
        kind: "file",
        size: 27,
        mtimeMs: (await Deno.stat(join(root, "b.txt"))).mtime!.getTime(),
      });
      assert.equal((await journal.lookup("/a.txt"))?.sha256, sha("a"), "what it knew stays");
    } finally {
      await two.release();
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("each conditional change refuses with CONFLICT and changes nothing when the path moved on", () =>
  withServices(async ({ root, session }) => {
    await put(session, "/f.txt", "mine");
    await session.storage.mkdir("/d");
    await Deno.writeTextFile(join(root, "f.txt"), "theirs"); // Behind the server's back.
    const stale = { kind: "file", sha256: sha("mine") } as const;
    const status = (promise: Promise<unknown>) =>
      promise.then(
        () => "ok",
        (error) => error instanceof StorageError ? statusName(error.code) : String(error),
      );
    const content = encoder.encode("next");
    const whole = { mtimeMs: MTIME, sha256Hex: sha("next") };
    assert.equal(
      await status(session.storage.writeFile("/f.txt", content, { ...whole, expected: stale })),
      "CONFLICT",
    );
    assert.equal(
      await status(
        session.storage.writeFile("/d", content, { ...whole, expected: { kind: "absent" } }),
      ),
      "CONFLICT",
    );
    assert.equal(await status(session.storage.removeIf("/f.txt", stale)), "CONFLICT");
    assert.equal(await status(session.storage.renameIf("/f.txt", "/g.txt", stale)), "CONFLICT");
    assert.equal(
      await status(session.storage.renameIf("/d", "/f.txt", { kind: "directory" })),
      "CONFLICT",
    );
    assert.equal(
      await status(
        session.storage.writeFile("/n.txt", content, { ...whole, expected: { kind: "directory" } }),
      ),
      "BAD_REQUEST",
    );
    assert.throws(
      () => expectedOf("/a", { state: "absent", sha256: new Uint8Array(32) }),
      /only then/,
    );
    assert.throws(() => expectedOf("/a", { state: "file", sha256: new Uint8Array() }), /only then/);
    assert.equal(await Deno.readTextFile(join(root, "f.txt")), "theirs");
    const current = { kind: "file", sha256: sha("theirs") } as const;
    assert.equal(await status(session.storage.renameIf("/f.txt", "/g.txt", current)), "ok");
    assert.equal(await status(session.storage.removeIf("/d", { kind: "directory" })), "ok");
    assert.deepEqual((await session.storage.list("/")).map((entry) => entry.name), ["g.txt"]);
  }));

Deno.test("a journal that cannot be opened: changes still go through, sync fails with IO_ERROR, and the file is left as it is", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-tree-" }));
  const root = join(base, "alice");
  await Deno.mkdir(join(root, ".dfos"), { recursive: true });
  const garbage = encoder.encode("not a database, and it must not be lost ".repeat(200));
  await Deno.writeFile(join(root, ".dfos", "journal.db"), garbage);
  const services = new TreeServices();
  const session = await services.openSession("alice", "s1", await LocalStorage.open(root));
  await configure({
    reset: true,
    sinks: { memory: () => {} },
    loggers: [{ category: ["logtape", "meta"], lowestLevel: "error", sinks: [] }],
  });
  try {
    await put(session, "/a.txt", "still stored");
    assert.equal(await Deno.readTextFile(join(root, "a.txt")), "still stored");
    const error = await session.index.ready().then(() => null, (error) => error);
    assert.ok(error instanceof StorageError);
    assert.equal(statusName(error.code), "IO_ERROR");
    assert.match(error.message, /the change journal is unavailable/);
    assert.deepEqual(await Deno.readFile(join(root, ".dfos", "journal.db")), garbage);
  } finally {
    await reset();
    await session.release();
    await services.closeAll();
    await Deno.remove(base, { recursive: true });
  }
});
