/**
 * Serialises frames from many concurrent senders onto one stream. Frames
 * queued while a write is in flight are coalesced into one write (up to
 * {@link COALESCE_LIMIT} bytes), so pipelined small requests cost one
 * syscall and one TLS record instead of one each.
 *
 * A writer can also be *corked*: frames queued with {@link FrameWriter.post}
 * then wait until it is uncorked (or a {@link FrameWriter.send} flushes),
 * so the replies to a burst of pipelined requests leave in one write: one
 * syscall and one TLS record for the lot. (Both ends turn Nagle's algorithm
 * off, so small writes are not held back waiting for an ACK either way.)
 *
 * @module
 */

/** Anything with `write` like `Deno.Conn`. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Most bytes merged into one write. */
export const COALESCE_LIMIT = 256 * 1024;

interface Pending {
  frame: Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Writes whole frames, in the order `send` was called. */
export class FrameWriter {
  #sink: ByteSink;
  #queue: Pending[] = [];
  #flushing = false;
  #failure: unknown = undefined;
  #queuedBytes = 0;
  #corked = false;
  #onEmpty: (() => void)[] = [];

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /**
   * Queues `frame` and resolves once it has been written. The caller must not
   * change `frame` before then. Rejects if the stream failed.
   */
  send(frame: Uint8Array): Promise<void> {
    return this.#enqueue(frame, true);
  }

  /**
   * Like {@link send}, but while the writer is corked the frame waits for
   * {@link uncork} (or a later `send`) before it is written.
   */
  post(frame: Uint8Array): Promise<void> {
    return this.#enqueue(frame, !this.#corked);
  }

  /** Uncorks, and resolves once every frame queued so far has been written (or failed). */
  flushed(): Promise<void> {
    this.uncork();
    if (!this.#flushing) return Promise.resolve();
    return new Promise((resolve) => this.#onEmpty.push(resolve));
  }

  /** Makes {@link post} hold frames back until {@link uncork}. */
  cork(): void {
    this.#corked = true;
  }

  /** Writes everything held back, and lets later posts go at once. */
  uncork(): void {
    this.#corked = false;
    if (!this.#flushing && this.#queue.length > 0) this.#flush();
  }

  #enqueue(frame: Uint8Array, flush: boolean): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#queue.push({ frame, resolve, reject });
      this.#queuedBytes += frame.length;
      if (flush && !this.#flushing) this.#flush();
    });
  }

  /** Bytes of frames waiting for their turn (not counting a write in flight). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      for (const item of batch) this.#queuedBytes -= item.frame.length;
      try {
        await writeAll(this.#sink, joinFrames(batch));
        for (const item of batch) item.resolve();
      } catch (error) {
        this.#failure = error;
        for (const item of [...batch, ...this.#queue.splice(0)]) item.reject(error);
        this.#queuedBytes = 0;
      }
    }
    this.#flushing = false;
    for (const resolve of this.#onEmpty.splice(0)) resolve();
  }

  #takeBatch(): Pending[] {
    const batch = [this.#queue.shift()!];
    let size = batch[0].frame.length;
    while (this.#queue.length > 0 && size + this.#queue[0].frame.length <= COALESCE_LIMIT) {
      const next = this.#queue.shift()!;
      size += next.frame.length;
      batch.push(next);
    }
    return batch;
  }
}

function joinFrames(batch: Pending[]): Uint8Array {
  if (batch.length === 1) return batch[0].frame;
  const joined = new Uint8Array(batch.reduce((sum, item) => sum + item.frame.length, 0));
  let offset = 0;
  for (const item of batch) {
    joined.set(item.frame, offset);
    offset += item.frame.length;
  }
  return joined;
}

/** Writes every byte of `bytes`, looping over short writes. */
export async function writeAll(sink: ByteSink, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await sink.write(bytes.subarray(offset));
  }
}
