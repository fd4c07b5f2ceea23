import assert from "node:assert/strict";
import { logRecordsDuring } from "../helpers/log_records.ts";
import { ChangeFeed, type TreeChange } from "../../src/server/change_feed.ts";
import { concerns, Watchers } from "../../src/server/watchers.ts";
import { decode, type Frame, Messages } from "../../src/protocol/messages.ts";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import type { Journal } from "../../src/storage/journal.ts";
import { within } from "../helpers/processes.ts";

const change = (fields: Partial<TreeChange> = {}): TreeChange => ({
  user: "alice",
  sessionId: "other",
  op: "delete",
  path: "/sync/a.txt",
  ...fields,
});

Deno.test("the feed tells each subscriber in turn, waits for each, and a failing one is logged, not fatal", async () => {
  const records = await logRecordsDuring(async () => {
    const feed = new ChangeFeed();
    const heard: string[] = [];
    feed.subscribe({
      change: async () => {
        await Promise.resolve();
        heard.push("journal");
      },
    });
    feed.subscribe({ change: () => Promise.reject(new Error("disk full")) });
    const stop = feed.subscribe({ change: (c) => void heard.push(`watchers ${c.path}`) });
    feed.subscribe({ request: (record) => void heard.push(`audit ${record.operation}`) });
    await feed.publish(change());
    feed.request({
      operation: "delete",
      user: "alice",
      sessionId: "s",
      remote: "127.0.0.1:1",
      detail: {},
      result: "ok",
    });
    stop();
    await feed.publish(change({ path: "/b" }));
    assert.deepEqual(heard, ["journal", "watchers /sync/a.txt", "audit delete", "journal"]);
  });
  assert.equal(records.filter((record) => record.level === "error").length, 2);
});

Deno.test("a watch concerns changes at, inside or above its folder, either path of a rename, and nothing beside it", () => {
  assert.ok(concerns("/sync", change({ path: "/sync" })));
  assert.ok(concerns("/sync", change({ path: "/sync/deep/a.txt" })));
  assert.ok(concerns("/sync", change({ op: "rename", path: "/out", from: "/sync/a" })));
  assert.ok(concerns("/sync/deep", change({ path: "/sync" })), "the folder's parent went");
  assert.ok(!concerns("/sync", change({ path: "/sync-other/a.txt" })));
  assert.ok(!concerns("/sync", change({ path: "/other" })));
  assert.ok(concerns("/", change({ path: "/anything" })));
});

/** The `Changed` frames a watcher was sent. */
function changedFrames(sent: Uint8Array[]): Promise<Frame[]> {
  let bytes = new Uint8Array(sent.flatMap((frame) => [...frame]));
  const reader = new FrameReader({
    read(buffer) {
      if (bytes.length === 0) return Promise.resolve(null);
      const count = Math.min(buffer.length, bytes.length);
      buffer.set(bytes.subarray(0, count));
      bytes = bytes.subarray(count);
      return Promise.resolve(count);
    },
  });
  return (async () => {
    const frames: Frame[] = [];
    for (let frame = await reader.next(); frame; frame = await reader.next()) {
      frames.push({ ...frame, payload: frame.payload.slice() });
    }
    return frames;
  })();
}

Deno.test("a watching session hears of others' changes in its folder, coalesced, never of its own", async () => {
  let clock = 0;
  let sequence = 0;
  const watchers = new Watchers(
    () => Promise.resolve({ journalId: "j", sequence }),
    { intervalMs: 40, now: () => clock },
  );
  const session = {};
  const sent: Uint8Array[] = [];
  let arrived = () => {};
  watchers.watch(session, {
    user: "alice",
    sessionId: "mine",
    folder: "/sync",
    send: (frame) => {
      sent.push(frame);
      arrived();
      return Promise.resolve();
    },
  });
  const next = () => new Promise<void>((resolve) => arrived = resolve);
  const publish = (fields: Partial<TreeChange>) => watchers.subscriber.change!(change(fields));
  try {
    publish({ sessionId: "mine", path: "/sync/own.txt" });
    publish({ user: "bob", path: "/sync/bob.txt" });
    publish({ path: "/elsewhere.txt" });
    await new Promise((resolve) => setTimeout(resolve, 0)); // A notification due now would be out.
    assert.deepEqual(sent, [], "nothing for its own change, another user's, or another folder's");
    sequence = 1;
    let arriving = next();
    publish({ path: "/sync/a.txt" });
    await arriving;
    clock = 10; // Within the interval: the next two go out together, later.
    sequence = 3;
    arriving = next();
    publish({ path: "/sync/b.txt" });
    publish({ sessionId: undefined, path: "/sync/found-on-disk.txt" });
    await arriving;
    const frames = (await changedFrames(sent)).map((
      frame,
    ) => [frame.id, decode(Messages.Changed, frame)]);
    assert.deepEqual(frames, [[0, { journalId: "j", sequence: 1 }], [0, {
      journalId: "j",
      sequence: 3,
    }]]);
  } finally {
    watchers.unwatch(session);
  }
});

Deno.test("a watch asked for at a position the journal has since passed is told at once; one asked for where it stands is not", async () => {
  const sequence = 5;
  const watchers = new Watchers(() => Promise.resolve({ journalId: "j", sequence }), {
    intervalMs: 0,
  });
  const heard = new Map<string, Uint8Array[]>();
  const arrivals: Record<string, () => void> = {};
  const watch = (name: string, armedAt?: { journalId: string; sequence: number }) => {
    heard.set(name, []);
    watchers.watch(name as unknown as object, {
      user: "alice",
      sessionId: name,
      folder: "/sync",
      armedAt,
      send: (frame) => {
        heard.get(name)!.push(frame);
        arrivals[name]?.();
        return Promise.resolve();
      },
    });
  };
  const sessions = ["current", "behind", "other journal", "no position"];
  try {
    const told = ["behind", "other journal"].map((name) =>
      new Promise<void>((resolve) => arrivals[name] = resolve)
    );
    watch("current", { journalId: "j", sequence: 5 });
    watch("behind", { journalId: "j", sequence: 3 });
    watch("other journal", { journalId: "k", sequence: 5 });
    watch("no position");
    await within(Promise.all(told), 5_000, "the notices of the watches behind");
    await new Promise((resolve) => setTimeout(resolve, 20)); // Any notification due would be out.
    const frames = async (name: string) =>
      (await changedFrames(heard.get(name)!)).map((frame) => decode(Messages.Changed, frame));
    assert.deepEqual(await frames("behind"), [{ journalId: "j", sequence: 5 }]);
    assert.deepEqual(await frames("other journal"), [{ journalId: "j", sequence: 5 }]);
    assert.deepEqual(heard.get("current"), [], "it knows all there is");
    assert.deepEqual(heard.get("no position"), []);
  } finally {
    for (const name of sessions) watchers.unwatch(name as unknown as object);
  }
});

Deno.test("a change another node made before this node followed the journal is told once the following starts", async () => {
  let sequence = 5;
  let listening = () => {};
  const listened = new Promise<void>((resolve) => listening = resolve);
  let started = () => {};
  const starting = new Promise<void>((resolve) => started = resolve);
  // A journal other nodes write: its listener comes up only when the test says so.
  const journal = {
    id: "j",
    sequence: () => Promise.resolve(sequence),
    since: (_id: string, after: number) =>
      Promise.resolve({
        kind: "changes",
        changes: after < sequence ? [{ sequence, op: "write", path: "/sync/x" }] : [],
        sequence,
        more: false,
      }),
    onMoved: async () => {
      listening();
      await starting;
      return () => Promise.resolve();
    },
  };
  const watchers = new Watchers(() => Promise.resolve({ journalId: "j", sequence }), {
    intervalMs: 0,
    journalOf: () => Promise.resolve(journal as unknown as Journal),
  });
  const sent: Uint8Array[] = [];
  let arrived = () => {};
  const arrival = new Promise<void>((resolve) => arrived = resolve);
  const session = {};
  try {
    watchers.watch(session, {
      user: "alice",
      sessionId: "mine",
      folder: "/sync",
      armedAt: { journalId: "j", sequence: 5 },
      send: (frame) => {
        sent.push(frame);
        arrived();
        return Promise.resolve();
      },
    });
    await within(listened, 5_000, "the node listening");
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(sent, [], "nothing had moved when the watch began");
    sequence = 6; // Another node's change, before this node listens: no signal will tell it.
    started();
    await within(arrival, 5_000, "the notice after the following started");
    const frames = (await changedFrames(sent)).map((frame) => decode(Messages.Changed, frame));
    assert.deepEqual(frames, [{ journalId: "j", sequence: 6 }]);
  } finally {
    watchers.unwatch(session);
  }
});

Deno.test("a watch is told at once only of what concerns its folder: a change elsewhere in the window is not its business", async () => {
  const changes = [
    { sequence: 6, op: "write", path: "/elsewhere/x" },
    { sequence: 7, op: "write", path: "/sync/y" },
  ];
  // The user's journal, as the server holds it: its changes since a cursor, under a folder.
  const journal = {
    id: "j",
    sequence: () => Promise.resolve(7),
    since: (journalId: string, after: number, { under }: { under?: string }) =>
      Promise.resolve(
        journalId !== "j" ? { kind: "expired", sequence: 7 } : {
          kind: "changes",
          changes: changes.filter((change) =>
            change.sequence > after && concerns(under ?? "/", change)
          ),
          sequence: 7,
          more: false,
        },
      ),
  };
  const watchers = new Watchers(() => Promise.resolve({ journalId: "j", sequence: 7 }), {
    intervalMs: 0,
    journalOf: () => Promise.resolve(journal as unknown as Journal),
  });
  const heard = new Map<string, number>();
  const told = new Map<string, () => void>();
  const watch = (name: string, folder: string, sequence: number, journalId = "j") => {
    heard.set(name, 0);
    const arrived = new Promise<void>((resolve) => told.set(name, resolve));
    watchers.watch(name as unknown as object, {
      user: "alice",
      sessionId: name,
      folder,
      armedAt: { journalId, sequence },
      send: () => {
        heard.set(name, heard.get(name)! + 1);
        told.get(name)!();
        return Promise.resolve();
      },
    });
    return arrived;
  };
  const names = ["after the change elsewhere", "its own folder", "another journal"];
  try {
    const quiet = watch("after the change elsewhere", "/sync", 6); // After /elsewhere/x: only /sync/y is later.
    watch("before both", "/other", 5);
    await within(
      Promise.all([watch("its own folder", "/sync", 5), watch("another journal", "/sync", 7, "k")]),
      5_000,
      "the notices of what concerns the folders",
    );
    await within(quiet, 5_000, "the notice of /sync/y");
    await new Promise((resolve) => setTimeout(resolve, 20)); // Any notification due would be out.
    assert.equal(heard.get("before both"), 0, "neither change concerns /other");
    assert.equal(heard.get("its own folder"), 1);
    assert.equal(heard.get("another journal"), 1, "its cursor is gone: it must look");
  } finally {
    for (const name of [...names, "before both"]) watchers.unwatch(name as unknown as object);
  }
});
