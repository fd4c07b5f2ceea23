/**
 * Runs password checks a few at a time and makes the rest wait their turn,
 * in order, for a bounded time. Each check (one scrypt run) takes a core and
 * 32 MiB, so running every login of a burst at once would exhaust memory;
 * queueing them instead must not leave a login waiting without limit.
 *
 * The bound is enforced twice. A check that arrives behind so many others
 * that it would wait longer than `maxWaitMs` even if each took only as long
 * as the fastest check seen so far is refused at once
 * ({@link CheckQueueBusyError}); and a check still waiting after `maxWaitMs`
 * (checks ran slower, e.g. while the machine was busy) is taken out of the
 * queue and refused then. The fastest check, not the recent average, decides
 * the first case, so a passing load spike (which makes checks slow for a
 * while) does not turn away a burst of logins that would still be served in
 * time. Neither case depends on who is logging in.
 *
 * @module
 */

/** Told of a waiting check's 1-based place and how many wait; position 0 once it stops waiting. */
export type CheckPositionListener = (position: number, waiting: number) => void;

/** A check was refused because the checks ahead of it would take too long. */
export class CheckQueueBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckQueueBusyError";
  }
}

/** Options of {@link CheckQueue}. */
export interface CheckQueueOptions {
  /** Checks that run at once. */
  slots: number;
  /** Longest a check may wait for a slot, ms. */
  maxWaitMs: number;
  /**
   * Told how long each check waited for its slot, ms: 0 when one was free,
   * `maxWaitMs` for one refused after waiting that long. A check refused at
   * once (it would have waited too long) is not told. Default: nothing.
   */
  onWait?: (waitedMs: number) => void;
}

interface Waiter {
  start: () => void;
  onPosition: CheckPositionListener;
}

/** A FIFO of tasks, `slots` running at once, none waiting longer than `maxWaitMs`. */
export class CheckQueue {
  readonly slots: number;
  readonly maxWaitMs: number;
  #onWait: (waitedMs: number) => void;
  #running = 0;
  #queue: Waiter[] = [];
  #fastestMs: number | undefined;

  constructor(options: CheckQueueOptions) {
    if (!(options.slots >= 1)) {
      throw new RangeError(`a check queue needs at least one slot, got ${options.slots}`);
    }
    this.slots = options.slots;
    this.maxWaitMs = options.maxWaitMs;
    this.#onWait = options.onWait ?? (() => {});
  }

  /** Checks waiting for a slot. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** The shortest check seen so far, ms (undefined before the first). */
  get fastestMs(): number | undefined {
    return this.#fastestMs;
  }

  /**
   * The least a check arriving now would wait: the checks ahead of it, run
   * `slots` at a time, each as fast as the fastest seen (0 before any).
   */
  leastWaitMs(): number {
    if (this.#running < this.slots && this.#queue.length === 0) return 0;
    return Math.ceil((this.#queue.length + 1) / this.slots) * (this.#fastestMs ?? 0);
  }

  /** Takes note of how long one check took, e.g. one run outside the queue to calibrate. */
  observe(durationMs: number): void {
    this.#fastestMs = Math.min(this.#fastestMs ?? Infinity, durationMs);
  }

  /**
   * Runs `task` once a slot is free and frees the slot when it settles.
   * Rejects with {@link CheckQueueBusyError}, without running `task`, when
   * the wait would exceed `maxWaitMs` or has.
   */
  async run<T>(task: () => Promise<T>, onPosition: CheckPositionListener = () => {}): Promise<T> {
    const arrived = performance.now();
    if (this.#running < this.slots && this.#queue.length === 0) {
      this.#running++;
    } else {
      await this.#wait(onPosition);
    }
    const started = performance.now();
    this.#onWait(started - arrived);
    try {
      return await task();
    } finally {
      this.observe(performance.now() - started);
      this.#running--;
      this.#startNext();
    }
  }

  #wait(onPosition: CheckPositionListener): Promise<void> {
    const least = this.leastWaitMs();
    if (least > this.maxWaitMs) {
      return Promise.reject(
        new CheckQueueBusyError(
          `server busy: ${this.#queue.length} logins are waiting for a password check ` +
            `(at least ${Math.ceil(least / 1000)} s); try again later`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(timer);
          onPosition(0, this.#queue.length);
          resolve();
        },
        onPosition,
      };
      const timer = setTimeout(() => {
        const index = this.#queue.indexOf(waiter);
        if (index < 0) return;
        this.#queue.splice(index, 1);
        onPosition(0, this.#queue.length);
        this.#announcePositions(index);
        this.#onWait(this.maxWaitMs);
        reject(
          new CheckQueueBusyError(
            `server busy: waited ${this.maxWaitMs / 1000} s for a password check; try again later`,
          ),
        );
      }, this.maxWaitMs);
      this.#queue.push(waiter);
      onPosition(this.#queue.length, this.#queue.length);
    });
  }

  #startNext(): void {
    const next = this.#queue.shift();
    if (!next) return;
    this.#running++;
    next.start();
    this.#announcePositions(0);
  }

  #announcePositions(from: number): void {
    for (let index = from; index < this.#queue.length; index++) {
      this.#queue[index].onPosition(index + 1, this.#queue.length);
    }
  }
}
