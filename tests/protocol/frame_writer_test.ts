import assert from "node:assert/strict";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import {
  type ByteSink,
  COALESCE_LIMIT,
  FrameWriter,
  writeAll,
} from "../../src/protocol/frame_writer.ts";
import { ChunkedSource, concatBytes, header } from "./memory_streams.ts";

/** Records every write; each write finishes when the test says so, or at once when `auto`. */
class GatedSink implements ByteSink {
  writes: Uint8Array[] = [];
  #pending: (() => void)[] = [];
  #auto: boolean;
  #maxPerWrite: number;

  constructor(options: { auto?: boolean; maxPerWrite?: number } = {}) {
    this.#auto = options.auto ?? false;
    this.#maxPerWrite = options.maxPerWrite ?? Infinity;
  }

  write(bytes: Uint8Array): Promise<number> {
    const count = Math.min(bytes.length, this.#maxPerWrite);
    this.writes.push(bytes.slice(0, count));
    if (this.#auto) return new Promise((resolve) => setTimeout(() => resolve(count), 0));
    return new Promise((resolve) => this.#pending.push(() => resolve(count)));
  }

  /** Completes the oldest unfinished write. */
  finishOne(): void {
    const finish = this.#pending.shift();
    assert.ok(finish, "no write in flight");
    finish();
  }

  get received(): Uint8Array {
    return concatBytes(...this.writes);
  }
}

/** A frame of `size` bytes in total whose id is `id`. */
function frameOfSize(id: number, size: number): Uint8Array {
  const payload = new Uint8Array(size - 9).fill(id & 0xff);
  return concatBytes(header(0x30, id, payload.length), payload);
}

/** Lets queued promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("frames from concurrent sends arrive whole and in call order", async () => {
  const sink = new GatedSink({ auto: true, maxPerWrite: 1000 });
  const writer = new FrameWriter(sink);
  const frames = Array.from({ length: 60 }, (_, id) => frameOfSize(id, 9 + ((id * 397) % 3000)));
  await Promise.all(frames.map((frame) => writer.send(frame)));
  const reader = new FrameReader(new ChunkedSource(sink.received));
  for (const [id, frame] of frames.entries()) {
    const read = await reader.next();
    assert.equal(read?.id, id);
    assert.deepEqual(read.payload, frame.subarray(9));
  }
  assert.equal(await reader.next(), null);
});

Deno.test("frames queued during an in-flight write are coalesced into one write", async () => {
  const sink = new GatedSink();
  const writer = new FrameWriter(sink);
  const frames = [10, 20, 30, 40].map((size, id) => frameOfSize(id, size));
  const settled: number[] = [];
  const sends = frames.map((frame, id) => writer.send(frame).then(() => settled.push(id)));
  assert.equal(sink.writes.length, 1, "the first frame is written at once");
  assert.deepEqual(sink.writes[0], frames[0]);
  sink.finishOne();
  await settle();
  assert.deepEqual(settled, [0]);
  assert.equal(sink.writes.length, 2, "the three queued frames go out in one write");
  assert.deepEqual(sink.writes[1], concatBytes(frames[1], frames[2], frames[3]));
  sink.finishOne();
  await Promise.all(sends);
  assert.deepEqual(settled, [0, 1, 2, 3]);
});

Deno.test("coalescing never makes a write larger than COALESCE_LIMIT", async () => {
  const sink = new GatedSink({ auto: true });
  const writer = new FrameWriter(sink);
  const big = 100 * 1024;
  const sends = [writer.send(frameOfSize(0, 50))];
  for (let id = 1; id <= 5; id++) sends.push(writer.send(frameOfSize(id, big)));
  await Promise.all(sends);
  assert.deepEqual(sink.writes.map((write) => write.length), [50, 2 * big, 2 * big, big]);
});

Deno.test("queued frames totalling exactly COALESCE_LIMIT go out in one write", async () => {
  const sink = new GatedSink({ auto: true });
  const writer = new FrameWriter(sink);
  const quarter = COALESCE_LIMIT / 4;
  const sends = [writer.send(frameOfSize(0, 9))];
  for (let id = 1; id <= 5; id++) sends.push(writer.send(frameOfSize(id, quarter)));
  await Promise.all(sends);
  assert.deepEqual(sink.writes.map((write) => write.length), [9, COALESCE_LIMIT, quarter]);
});

Deno.test("a single frame larger than COALESCE_LIMIT is written on its own", async () => {
  const sink = new GatedSink({ auto: true });
  const writer = new FrameWriter(sink);
  const huge = frameOfSize(1, COALESCE_LIMIT + 100);
  await Promise.all([
    writer.send(frameOfSize(0, 9)),
    writer.send(huge),
    writer.send(frameOfSize(2, 9)),
  ]);
  assert.deepEqual(sink.writes.map((write) => write.length), [9, COALESCE_LIMIT + 100, 9]);
  assert.deepEqual(sink.writes[1], huge);
});

Deno.test("short writes are continued until the whole frame is written", async () => {
  const sink = new GatedSink({ auto: true, maxPerWrite: 3 });
  const writer = new FrameWriter(sink);
  const frames = [frameOfSize(1, 20), frameOfSize(2, 9), frameOfSize(3, 31)];
  await Promise.all(frames.map((frame) => writer.send(frame)));
  assert.deepEqual(sink.received, concatBytes(...frames));
  assert.ok(sink.writes.every((write) => write.length <= 3));
});

Deno.test("writeAll loops over short writes", async () => {
  const sink = new GatedSink({ auto: true, maxPerWrite: 3 });
  const bytes = Uint8Array.from({ length: 10 }, (_, i) => i);
  await writeAll(sink, bytes);
  assert.deepEqual(sink.writes.map((write) => write.length), [3, 3, 3, 1]);
  assert.deepEqual(sink.received, bytes);
});

Deno.test("a sink failure rejects that send, the queued sends and every later send", async () => {
  const failure = new Error("connection reset");
  let calls = 0;
  let finish: (() => void) | undefined;
  const sink: ByteSink = {
    write(bytes) {
      calls++;
      if (calls === 1) return new Promise((resolve) => finish = () => resolve(bytes.length));
      return Promise.reject(failure);
    },
  };
  const writer = new FrameWriter(sink);
  const first = writer.send(frameOfSize(0, 9));
  const failing = writer.send(frameOfSize(1, 9));
  const queued = writer.send(frameOfSize(2, 9));
  finish!();
  await first;
  // The second write (frames 1 and 2 coalesced) fails.
  const results = await Promise.allSettled([failing, queued]);
  assert.deepEqual(results, [
    { status: "rejected", reason: failure },
    { status: "rejected", reason: failure },
  ]);
  await assert.rejects(writer.send(frameOfSize(3, 9)), (error) => error === failure);
  await assert.rejects(writer.send(frameOfSize(4, 9)), (error) => error === failure);
  assert.equal(calls, 2, "nothing is written after the failure");
});

Deno.test("a failure part-way through a short-written frame rejects its send", async () => {
  let calls = 0;
  const sink: ByteSink = {
    write() {
      calls++;
      return calls < 3 ? Promise.resolve(2) : Promise.reject(new Error("broken pipe"));
    },
  };
  const writer = new FrameWriter(sink);
  await assert.rejects(writer.send(frameOfSize(0, 20)), /broken pipe/);
  await assert.rejects(writer.send(frameOfSize(1, 9)), /broken pipe/);
  assert.equal(calls, 3);
});

Deno.test("a corked writer holds posted frames until uncork, and send flushes them first", async () => {
  const sink = new GatedSink({ auto: true });
  const writer = new FrameWriter(sink);
  writer.cork();
  const posted = [writer.post(header(1, 1, 0)), writer.post(header(2, 2, 0))];
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(sink.writes.length, 0, "nothing written while corked");
  assert.equal(writer.queuedBytes, 18);
  writer.uncork();
  await Promise.all(posted);
  assert.equal(sink.writes.length, 1, "both posted frames left in one write");
  assert.equal(writer.queuedBytes, 0);

  writer.cork();
  const third = writer.post(header(3, 3, 0));
  const fourth = writer.send(header(4, 4, 0));
  await Promise.all([third, fourth]);
  assert.equal(sink.writes.length, 2, "send wrote the held frame and itself together");
  assert.deepEqual(sink.writes[1], concatBytes(header(3, 3, 0), header(4, 4, 0)));
  const fifth = writer.post(header(5, 5, 0));
  await writer.flushed();
  await fifth;
  assert.equal(sink.writes.length, 3, "flushed() uncorks and waits for the write");
  await writer.flushed(); // Nothing queued: resolves at once.
});
