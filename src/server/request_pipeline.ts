/**
 * Requests of one session that may overlap, answered in the order they came
 * (PROTOCOL.md §5.2 keeps that order for every request but streamed
 * uploads). A whole small file (`WriteFile`, `WriteFileIf`) is written and
 * synced to a private file as soon as it arrives, while earlier ones are
 * still being synced; only putting it under its name, recording it and
 * replying wait for its turn, which comes when the request before it has
 * ended. So a sync of many small files costs one disk sync's latency per
 * {@link PIPELINE_DEPTH} files, not one per file, and every client sees the
 * same results, in the same order, as if they had run one by one.
 *
 * A read (`Read`) overlaps the same way: its file is opened and, if small,
 * read before its turn, and its reply waits for it. It never overtakes a
 * write: while an earlier request that writes is in the pipeline, a read
 * begins only in its turn, so it sees what those writes did.
 *
 * A request that may not overlap waits until every earlier one has ended
 * ({@link RequestPipeline.settled}).
 *
 * @module
 */

import { ProtocolError } from "../protocol/protocol_error.ts";

/** Requests in the pipeline at once; reading further frames waits for a place. */
export const PIPELINE_DEPTH = 32;

/**
 * Bytes the requests in a session's pipeline may hold at once (8 MiB): what
 * 32 whole files of 256 KiB take, and 8 requests of many files (1 MiB each,
 * twice that for a reply being built). Further frames wait for room.
 */
export const PIPELINE_BYTES = 8 * 1024 * 1024;

/** What a request in the pipeline runs: `turn` resolves when the request before it has ended. */
export type PipelinedWork = (turn: Promise<void>) => Promise<void>;

/** One session's overlapping requests; see the module documentation. */
export class RequestPipeline {
  readonly #depth: number;
  #tail: Promise<void> = Promise.resolve();
  /** Request id → its end, for the requests in the pipeline. */
  readonly #inFlight = new Map<number, Promise<void>>();
  /** Requests in the pipeline that write. */
  #writing = 0;
  #waiting: (() => void)[] = [];
  readonly #maxBytes: number;
  /** Bytes the requests in the pipeline hold (as {@link RequestPipeline.begin} was told). */
  #bytes = 0;

  constructor(depth = PIPELINE_DEPTH, maxBytes = PIPELINE_BYTES) {
    this.#depth = depth;
    this.#maxBytes = maxBytes;
  }

  /** Resolves when every request begun so far has ended. */
  settled(): Promise<void> {
    return this.#tail;
  }

  /** Throws a ProtocolError if a request with `id` is still in the pipeline. */
  checkUnused(id: number): void {
    if (this.#inFlight.has(id)) {
      throw new ProtocolError(`request id ${id} is already in use by a request in progress`);
    }
  }

  /**
   * Resolves once no request with `id` is in the pipeline. A request read
   * after another of the same id would have found it ended had they run one
   * by one; its reuse of the id is judged once it has (a streamed download
   * that it opened still holds the id then). Undefined when none is: the
   * caller of every frame need not wait a turn of the event loop for nothing.
   */
  untilFree(id: number): Promise<void> | undefined {
    if (!this.#inFlight.has(id)) return undefined;
    return (async () => {
      for (let ended = this.#inFlight.get(id); ended; ended = this.#inFlight.get(id)) {
        await ended;
      }
    })();
  }

  /**
   * Starts `work` for request `id` once there is a place (resolving then, not
   * when it ends). Its end counts only once its turn has come too, so the
   * requests after it keep their order whatever `work` does. A request that
   * does not write (`writes` false) begins in its turn if one that does is
   * still in the pipeline.
   */
  async begin(
    id: number,
    work: PipelinedWork,
    options: { writes: boolean; bytes?: number },
  ): Promise<void> {
    const bytes = options.bytes ?? 0;
    // A request over the byte budget alone still runs, once it is alone.
    while (
      this.#inFlight.size >= this.#depth ||
      (this.#inFlight.size > 0 && this.#bytes + bytes > this.#maxBytes)
    ) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.checkUnused(id);
    this.#bytes += bytes;
    const turn = this.#tail;
    const afterWrites = !options.writes && this.#writing > 0;
    if (options.writes) this.#writing++;
    const ended = (async () => {
      try {
        if (afterWrites) await turn;
        await work(turn);
      } finally {
        await turn;
        if (options.writes) this.#writing--;
        this.#bytes -= bytes;
        this.#inFlight.delete(id);
        // Every waiter looks again: one that wanted bytes may fit now as well as the next.
        for (const wake of this.#waiting.splice(0)) wake();
      }
    })();
    this.#inFlight.set(id, ended.catch(() => {}));
    this.#tail = ended.catch(() => {});
  }
}
