/**
 * When an upload's quota reservation ends: only once its bytes are
 * committed or kept. Until then a node reading the usage from the database
 * does not see them yet, and a reservation ended earlier would let another
 * upload take the same bytes.
 */

import assert from "node:assert/strict";
import { encode, type Frame, Messages } from "../../src/protocol/messages.ts";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import type { RequestContext } from "../../src/server/request_context.ts";
import { ServerMetrics } from "../../src/server/metrics.ts";
import { TransferRegistry } from "../../src/server/transfers.ts";
import type { EntryInfo, Upload } from "../../src/storage/storage.ts";

/** What happened, in order. */
type Events = string[];

/** An upload whose commit and abort wait for the test to let them end. */
function heldUpload(events: Events) {
  const finish = Promise.withResolvers<void>();
  const upload: Upload = {
    offset: 0,
    write: () => Promise.resolve(),
    commit: async () => {
      events.push("commit started");
      await finish.promise;
      return { name: "a.bin", kind: "file", size: 0, mtimeMs: 0 } as EntryInfo;
    },
    abort: () => (events.push("abort started"), finish.promise),
  };
  return { upload, finish: () => (events.push("storage done"), finish.resolve()) };
}

const CONTEXT = {
  metrics: new ServerMetrics(),
  pacers: {},
  compress: false,
  reply: () => Promise.resolve(),
} as unknown as RequestContext;

/** The frame `bytes` hold, as the session's reader gives it. */
function frameOf(bytes: Uint8Array): Promise<Frame | null> {
  let left = bytes;
  return new FrameReader({
    read(buffer) {
      if (left.length === 0) return Promise.resolve(null);
      const count = Math.min(buffer.length, left.length);
      buffer.set(left.subarray(0, count));
      left = left.subarray(count);
      return Promise.resolve(count);
    },
  }).next();
}

/** A registry running upload 5 of `held`, its reservation noting its release in `events`. */
function registryWith(held: ReturnType<typeof heldUpload>, events: Events) {
  const registry = new TransferRegistry(() => {});
  registry.addUpload(5, {
    upload: held.upload,
    target: { path: "/a.bin" },
    reservation: (bytes) => events.push(`released ${bytes}`),
    size: 0,
  });
  return registry;
}

Deno.test("an upload's reservation ends after its commit, not when DataEnd arrives", async () => {
  const events: Events = [];
  const held = heldUpload(events);
  const registry = registryWith(held, events);
  const dataEnd = await frameOf(encode(Messages.DataEnd, 5, { sha256: new Uint8Array(32) }));
  const routed = registry.route(CONTEXT, dataEnd!);
  await Promise.resolve();
  held.finish();
  await routed;
  assert.deepEqual(events, ["commit started", "storage done", "released 0"]);
});

Deno.test("an upload cut off by the session's end releases its reservation after it is kept", async () => {
  const events: Events = [];
  const held = heldUpload(events);
  const registry = registryWith(held, events);
  const closed = registry.closeAll("the session ended");
  await Promise.resolve();
  held.finish();
  await closed;
  assert.deepEqual(events, ["abort started", "storage done", "released 0"]);
});
