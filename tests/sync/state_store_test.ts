import assert from "node:assert/strict";
import { join } from "node:path";
import { SyncStateStore } from "../../src/sync/state_store.ts";
import type { BaseEntry } from "../../src/sync/sync_entry.ts";

const KEY = { server: "SHA256:abc", user: "alice", remotePath: "/docs", localPath: "/home/a/docs" };

function file(sha256: string, mtime: bigint): BaseEntry {
  return {
    kind: "file",
    size: 3,
    sha256,
    localMtimeNs: mtime,
    localInode: 42,
    remoteMtimeNs: mtime + 1n,
  };
}

Deno.test("the sync state keeps each folder pair's paths across reopening, with nanosecond times", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "state", "sync.db");
    const store = SyncStateStore.open(path);
    const mtime = 1_764_581_400_123_456_789n;
    store.pair(KEY).apply([
      { path: "a.txt", entry: file("aa", mtime) },
      {
        path: "sub",
        entry: { kind: "directory", size: 0, localMtimeNs: 0n, remoteMtimeNs: 0n },
      },
    ]);
    store.pair({ ...KEY, localPath: "/elsewhere" }).apply([{
      path: "b.txt",
      entry: file("bb", 1n),
    }]);
    store.close();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, "state"))).mode! & 0o777, 0o700);

    const reopened = SyncStateStore.open(path);
    const entries = reopened.pair(KEY).load();
    assert.deepEqual([...entries.keys()].sort(), ["a.txt", "sub"]);
    assert.deepEqual(entries.get("a.txt"), file("aa", mtime));
    assert.equal(entries.get("sub")!.sha256, undefined);
    reopened.pair(KEY).apply([{ path: "a.txt" }]);
    assert.deepEqual([...reopened.pair(KEY).load().keys()], ["sub"]);
    assert.deepEqual([...reopened.pair({ ...KEY, localPath: "/elsewhere" }).load().keys()], [
      "b.txt",
    ]);
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a batch of state changes that fails part way leaves none of it remembered", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = SyncStateStore.open(join(dir, "sync.db"));
    const pair = store.pair(KEY);
    pair.apply([{ path: "kept.txt", entry: file("k", 1n) }]);
    const broken = { ...file("x", 2n), kind: "socket" } as unknown as BaseEntry;
    assert.throws(() =>
      pair.apply([{ path: "new.txt", entry: file("n", 3n) }, { path: "bad", entry: broken }])
    );
    assert.deepEqual([...pair.load().keys()], ["kept.txt"]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the journal cursor moves with the entries, in the same transaction", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = SyncStateStore.open(join(dir, "sync.db"));
    const pair = store.pair(KEY);
    assert.equal(pair.cursor(), undefined);
    pair.apply([{ path: "a", entry: file("a", 1n) }], { journalId: "j1", sequence: 7 });
    assert.deepEqual(pair.cursor(), { journalId: "j1", sequence: 7 });
    const broken = { ...file("x", 2n), kind: "socket" } as unknown as BaseEntry;
    assert.throws(() =>
      pair.apply([{ path: "b", entry: broken }], { journalId: "j1", sequence: 9 })
    );
    assert.deepEqual(pair.cursor(), { journalId: "j1", sequence: 7 });
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the remembered remote tree is updated path by path, with its cursor, and reads back as a whole rewrite would", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = SyncStateStore.open(join(dir, "sync.db"));
    const pair = store.pair(KEY);
    const entry = (sha256: string) => ({ kind: "file" as const, size: 1, mtimeNs: 5n, sha256 });
    const tree = new Map([["a", entry("a")], ["b", entry("b")], ["c", entry("c")]]);
    pair.replaceRemote(tree, { journalId: "j", sequence: 1 });
    tree.set("b", entry("b2"));
    tree.delete("c");
    tree.set("d", entry("d"));
    pair.updateRemote(tree, ["b", "c", "d"], { journalId: "j", sequence: 4 });
    assert.deepEqual([...pair.loadRemote()].sort(), [...tree].sort());
    assert.deepEqual(pair.cursor(), { journalId: "j", sequence: 4 });
    const broken = new Map([["e", { kind: "socket", size: 1, mtimeNs: 1n }]]);
    assert.throws(() =>
      pair.updateRemote(broken as never, ["e", "a"], { journalId: "j", sequence: 9 })
    );
    assert.deepEqual(
      [...pair.loadRemote()].sort(),
      [...tree].sort(),
      "a failed update: none of it",
    );
    assert.deepEqual(pair.cursor(), { journalId: "j", sequence: 4 });
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the in-step mark survives reopening, belongs to its pair, and every write to the pair's state takes it away", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "sync.db");
    const cursor = { journalId: "j-1", sequence: 7 };
    const mark = { cursor, rules: "digest" };
    const writes: [string, (pair: ReturnType<SyncStateStore["pair"]>) => void][] = [
      ["apply", (pair) => pair.apply([{ path: "a.txt", entry: file("aa", 1n) }])],
      ["apply of nothing", (pair) => pair.apply([])],
      ["updateRemote", (pair) => pair.updateRemote(new Map(), ["a.txt"], cursor)],
      ["replaceRemote", (pair) => pair.replaceRemote(new Map(), cursor)],
    ];
    for (const [name, write] of writes) {
      const store = SyncStateStore.open(path);
      const pair = store.pair(KEY);
      assert.equal(pair.markInStep(mark, pair.othersWrites()), true);
      store.close();
      const reopened = SyncStateStore.open(path);
      try {
        assert.deepEqual(reopened.pair(KEY).inStep(), mark, `${name}: kept across reopening`);
        assert.equal(reopened.pair({ ...KEY, user: "bob" }).inStep(), undefined, "another pair's");
        write(reopened.pair(KEY));
        assert.equal(reopened.pair(KEY).inStep(), undefined, `${name} takes the mark away`);
      } finally {
        reopened.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the in-step mark is refused once another connection has written since the run began, not after its own writes", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sync.db");
  const mine = SyncStateStore.open(path);
  const other = SyncStateStore.open(path); // Another process's run on the same file.
  try {
    const mark = { cursor: { journalId: "j-1", sequence: 7 }, rules: "digest" };
    const pair = mine.pair(KEY);
    let seen = pair.othersWrites();
    pair.apply([{ path: "own.txt", entry: file("aa", 1n) }]);
    assert.equal(pair.markInStep(mark, seen), true, "its own writes do not count");
    assert.deepEqual(pair.inStep(), mark);

    seen = pair.othersWrites();
    other.pair({ ...KEY, user: "bob" }).apply([{ path: "theirs.txt", entry: file("bb", 1n) }]);
    assert.equal(pair.markInStep(mark, seen), false, "another's write, even of another pair");
    seen = pair.othersWrites();
    other.pair(KEY).updateRemote(new Map(), ["x.txt"], mark.cursor);
    assert.equal(pair.inStep(), undefined, "the other's write took the old mark away");
    assert.equal(pair.markInStep(mark, seen), false, "nor after it took the old mark away");
    assert.equal(pair.inStep(), undefined);
  } finally {
    mine.close();
    other.close();
    await Deno.remove(dir, { recursive: true });
  }
});
