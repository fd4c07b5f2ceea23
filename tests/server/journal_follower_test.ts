import assert from "node:assert/strict";
import type { ChangesSince, JournalChange } from "../../src/storage/journal.ts";
import {
  JournalFollower,
  LOCAL_NOTE_MS,
  type MovedPaths,
  type SharedJournal,
} from "../../src/server/journal_follower.ts";

/** A shared journal in memory: `commit` adds a change and signals it, as another node's would. */
function fakeJournal() {
  const changes: JournalChange[] = [];
  let onMoved: (() => void) | undefined;
  let expired = false;
  const journal = {
    id: "j1",
    sequence: () => Promise.resolve(changes.length),
    since(_id: string, sequence: number, options: { limit: number }): Promise<ChangesSince> {
      if (expired) return Promise.resolve({ kind: "expired", sequence: changes.length });
      const after = changes.slice(sequence, sequence + options.limit);
      return Promise.resolve({
        kind: "changes",
        changes: after,
        sequence: sequence + after.length,
        more: sequence + after.length < changes.length,
      });
    },
    onMoved(callback: () => void) {
      onMoved = callback;
      return Promise.resolve(() => {
        onMoved = undefined;
        return Promise.resolve();
      });
    },
  } as unknown as SharedJournal;
  return {
    journal,
    commit(change: Omit<JournalChange, "sequence">) {
      changes.push({ ...change, sequence: changes.length + 1 });
      onMoved?.();
    },
    expire: () => expired = true,
    listening: () => onMoved !== undefined,
  };
}

/** A follower of a fake journal, and what it told. */
async function follow(now = () => 0) {
  const fake = fakeJournal();
  const told: (MovedPaths | undefined)[] = [];
  let wake = () => {};
  const follower = await JournalFollower.start(fake.journal, (change) => {
    told.push(change);
    wake();
  }, { now });
  const next = () => new Promise<void>((resolve) => wake = resolve);
  return { fake, follower, told, next };
}

Deno.test("a follower tells of changes another node made, from where the journal stood when it started", async () => {
  const fake = fakeJournal();
  fake.commit({ op: "put", path: "/before.txt" });
  const told: (MovedPaths | undefined)[] = [];
  let wake = () => {};
  const follower = await JournalFollower.start(fake.journal, (change) => {
    told.push(change);
    wake();
  });
  const arrived = new Promise<void>((resolve) => wake = resolve);
  fake.commit({ op: "rename", path: "/b", from: "/a" });
  await arrived;
  assert.deepEqual(told, [{ path: "/b", from: "/a" }], "not the change before it started");
  await follower.stop();
  assert.equal(fake.listening(), false, "stopped: it listens no more");
});

Deno.test("a change this node noted is not told again; another at the same path later is", async () => {
  const { fake, follower, told, next } = await follow();
  follower.note({ path: "/own.txt" });
  let arrived = next();
  fake.commit({ op: "put", path: "/own.txt" }); // Ours: taken by the note, nothing told.
  fake.commit({ op: "put", path: "/own.txt" }); // The same path again, by another node.
  await arrived;
  assert.deepEqual(told, [{ path: "/own.txt", from: undefined }]);
  arrived = next();
  fake.commit({ op: "delete", path: "/other.txt" });
  await arrived;
  assert.equal(told.length, 2);
  await follower.stop();
});

Deno.test("a note expires: a change read after LOCAL_NOTE_MS is told even at a noted path", async () => {
  let clock = 0;
  const { fake, follower, told, next } = await follow(() => clock);
  follower.note({ path: "/late.txt" });
  clock = LOCAL_NOTE_MS + 1;
  const arrived = next();
  fake.commit({ op: "put", path: "/late.txt" });
  await arrived;
  assert.deepEqual(told, [{ path: "/late.txt", from: undefined }]);
  await follower.stop();
});

Deno.test("a cursor the journal no longer has tells that anything may have changed", async () => {
  const { fake, follower, told, next } = await follow();
  fake.expire();
  const arrived = next();
  fake.commit({ op: "put", path: "/x" });
  await arrived;
  assert.deepEqual(told, [undefined]);
  await follower.stop();
});
