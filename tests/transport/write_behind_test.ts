import assert from "node:assert/strict";
import { WriteBehind } from "../../src/transport/write_behind.ts";
import type { ByteSink } from "../../src/protocol/frame_writer.ts";

/** A sink whose writes complete only when the test says so; it records what it got. */
class GatedSink implements ByteSink {
  writes: Uint8Array[] = [];
  #gates: (() => void)[] = [];
  failNext: Error | undefined;

  write(bytes: Uint8Array): Promise<number> {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) return Promise.reject(failure);
    this.writes.push(bytes.slice());
    return new Promise((resolve) => this.#gates.push(() => resolve(bytes.length)));
  }

  /** Completes the oldest write in flight. */
  complete(): void {
    this.#gates.shift()?.();
  }

  get inFlight(): number {
    return this.#gates.length;
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("writes below the limit resolve at once; what queues meanwhile leaves in one write, in order", async () => {
  const sink = new GatedSink();
  const behind = new WriteBehind(sink, 1024);
  await behind.write(Uint8Array.of(1, 2));
  await behind.write(Uint8Array.of(3));
  await behind.write(Uint8Array.of(4, 5));
  await settle();
  assert.deepEqual(sink.writes, [Uint8Array.of(1, 2)], "the first goes out alone");
  sink.complete();
  await settle();
  assert.deepEqual(sink.writes[1], Uint8Array.of(3, 4, 5), "the rest together");
  sink.complete();
  await behind.flushed();
  assert.equal(sink.inFlight, 0);
});

Deno.test("the caller may reuse its buffer as soon as a write resolves", async () => {
  const sink = new GatedSink();
  const behind = new WriteBehind(sink, 1024);
  const buffer = Uint8Array.of(7, 7, 7);
  await behind.write(buffer);
  await behind.write(Uint8Array.of(1));
  buffer.fill(0);
  await behind.write(buffer);
  for (let index = 0; index < 3; index++) {
    sink.complete();
    await settle();
  }
  await behind.flushed();
  assert.deepEqual(sink.writes, [Uint8Array.of(7, 7, 7), Uint8Array.of(1, 0, 0, 0)]);
});

Deno.test("at the limit a writer waits until the queue has gone out", async () => {
  const sink = new GatedSink();
  const behind = new WriteBehind(sink, 4);
  await behind.write(Uint8Array.of(1, 2)); // In flight at once: the queue is empty again.
  await settle();
  await behind.write(Uint8Array.of(3));
  let resolved = false;
  const full = behind.write(Uint8Array.of(4, 5, 6)).then(() => resolved = true);
  await settle();
  assert.equal(resolved, false, "four bytes queued behind the write in flight: at the limit");
  sink.complete();
  await full;
  assert.equal(resolved, true, "room again once the queued bytes went out");
  sink.complete();
  await settle();
  sink.complete();
  await behind.flushed();
  assert.deepEqual(sink.writes, [Uint8Array.of(1, 2), Uint8Array.of(3, 4, 5, 6)]);
});

Deno.test("after a failed write, later writes and flushed() reject with its error", async () => {
  const sink = new GatedSink();
  const behind = new WriteBehind(sink, 1024);
  const broken = new Deno.errors.BrokenPipe("broken pipe");
  sink.failNext = broken;
  await behind.write(Uint8Array.of(1));
  await assert.rejects(behind.flushed(), (error) => error === broken);
  await assert.rejects(behind.write(Uint8Array.of(2)), (error) => error === broken);
  assert.deepEqual(sink.writes, []);
});
