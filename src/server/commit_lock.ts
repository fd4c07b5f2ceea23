/**
 * The per-user commit lock: a conditional request checks its condition and
 * commits under it, and every other change of the user's tree commits under
 * it too, so that no session of the same user changes a path between the
 * check and the commit, and the journal records changes in the order they
 * happened. It serializes within one server process only (PROTOCOL.md §5.9).
 *
 * @module
 */

/**
 * A first-come, first-served lock for asynchronous work. Not reentrant:
 * work run under it must not ask for it again.
 *
 * @example
 * ```ts
 * const lock = new CommitLock();
 * await lock.run(async () => {
 *   // check, then act: no other holder runs meanwhile
 * });
 * ```
 */
export class CommitLock {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `work` once every earlier holder is done; resolves (or rejects) as it does. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => release = resolve);
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}
