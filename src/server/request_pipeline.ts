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
 * A request that may not overlap waits until every earlier one has ended
 * ({@link RequestPipeline.settled}).
 *
 * @module
 */

import { ProtocolError } from "../protocol/protocol_error.ts";

/** Requests in the pipeline at once; reading further frames waits for a place. */
export const PIPELINE_DEPTH = 32;

/** What a request in the pipeline runs: `turn` resolves when the request before it has ended. */
export type PipelinedWork = (turn: Promise<void>) => Promise<void>;

/** One session's overlapping requests; see the module documentation. */
export class RequestPipeline {
  readonly #depth: number;
  #tail: Promise<void> = Promise.resolve();
  readonly #inFlight = new Set<number>();
  #waiting: (() => void)[] = [];

  constructor(depth = PIPELINE_DEPTH) {
    this.#depth = depth;
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
   * Starts `work` for request `id` once there is a place (resolving then, not
   * when it ends). Its end counts only once its turn has come too, so the
   * requests after it keep their order whatever `work` does.
   */
  async begin(id: number, work: PipelinedWork): Promise<void> {
    while (this.#inFlight.size >= this.#depth) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.checkUnused(id);
    const turn = this.#tail;
    this.#inFlight.add(id);
    const ended = (async () => {
      try {
        await work(turn);
      } finally {
        await turn;
        this.#inFlight.delete(id);
        this.#waiting.shift()?.();
      }
    })();
    this.#tail = ended.catch(() => {});
  }
}
