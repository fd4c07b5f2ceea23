import assert from "node:assert/strict";
import { logRecordsDuring } from "../helpers/log_records.ts";
import { decode, type Frame, Messages } from "../../src/protocol/messages.ts";
import { MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import { STATUS } from "../../src/protocol/status.ts";
import type { RequestContext } from "../../src/server/request_context.ts";
import { ServerMetrics } from "../../src/server/metrics.ts";
import { TransferRegistry } from "../../src/server/transfers.ts";
import type { Upload } from "../../src/storage/storage.ts";

/** An upload whose next write fails with `error`. */
function failingUpload(error: Error): Upload {
  return {
    offset: 0,
    write: () => Promise.reject(error),
    commit: () => Promise.reject(error),
    abort: () => Promise.resolve(),
  };
}

/** A session context that keeps the frames it is asked to send. */
function recordingContext(replies: Uint8Array[]): RequestContext {
  return {
    metrics: new ServerMetrics(),
    pacers: {},
    compress: false,
    reply: (frame: Uint8Array) => {
      replies.push(frame);
      return Promise.resolve();
    },
  } as unknown as RequestContext;
}

/** The first frame in `chunks` (frames as sent). */
function firstFrame(chunks: Uint8Array[]): Promise<Frame | null> {
  let bytes = new Uint8Array(chunks.flatMap((chunk) => [...chunk]));
  return new FrameReader({
    read(buffer) {
      if (bytes.length === 0) return Promise.resolve(null);
      const count = Math.min(buffer.length, bytes.length);
      buffer.set(bytes.subarray(0, count));
      bytes = bytes.subarray(count);
      return Promise.resolve(count);
    },
  }).next();
}

/** Sends one `Data` frame of upload 5 into a registry whose upload fails with `error`. */
async function failOneWrite(error: Error) {
  const audits: string[] = [];
  const replies: Uint8Array[] = [];
  const registry = new TransferRegistry((_operation, _detail, result) => audits.push(result));
  registry.addUpload(5, {
    upload: failingUpload(error),
    target: { path: "/a.bin" },
    reservation: () => {},
    size: 3,
  });
  const frame = { type: MESSAGE_TYPE.Data, id: 5, payload: new Uint8Array([1, 2, 3]) };
  const records = await logRecordsDuring(() => registry.route(recordingContext(replies), frame));
  const reply = await firstFrame(replies);
  return { audits, records, reply: decode(Messages.Error, reply!) };
}

Deno.test("an unexpected failure of an upload is logged once, and the audit and the reply say the same", async () => {
  const { audits, records, reply } = await failOneWrite(new Error("disk on fire"));
  const errors = records.filter((record) => record.level === "error");
  assert.equal(errors.length, 1, "one log line for one failure");
  assert.deepEqual(errors[0].properties, { error: "Error: disk on fire" });
  assert.deepEqual(audits, [reply.message]);
  assert.equal(reply.code, STATUS.IO_ERROR);
});

Deno.test("an upload interrupted because its session ended is no error in the server log", async () => {
  const { records, reply } = await failOneWrite(new Deno.errors.Interrupted("operation canceled"));
  assert.deepEqual(records.map((record) => record.level), []);
  assert.equal(reply.message, "interrupted: the session ended");
});
