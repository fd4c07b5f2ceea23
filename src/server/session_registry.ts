/**
 * The server's live sessions and the transfers each is running right now,
 * what `dfos server status` shows (README "Status and control"). A session
 * enters at login and leaves at logout; a transfer enters when its bytes
 * start to move and leaves when it ends, whichever way. The transfer code
 * moves a counter; nothing here does I/O or keeps anything after the end.
 *
 * @module
 */

/** Which way a transfer's bytes go, seen from the client. */
export type TransferDirection = "upload" | "download";

/** What a transfer is, as it starts. */
export interface TransferStart {
  direction: TransferDirection;
  /** The path inside the user's root. */
  path: string;
  /** Bytes there will be when it is done: the file's size (a download: where its range ends). */
  size: number;
  /** Bytes already in place when this attempt began (a resume), counted in `size`. */
  offset: number;
}

/** A transfer while it runs. */
export class LiveTransfer implements TransferStart {
  readonly direction: TransferDirection;
  readonly path: string;
  readonly size: number;
  readonly offset: number;
  /** `Date.now()` when this attempt began. */
  readonly startedAt: number;
  /** Bytes moved in this attempt; the transfer advances it. */
  moved = 0;
  #end: () => void;

  constructor(start: TransferStart, startedAt: number, end: () => void) {
    this.direction = start.direction;
    this.path = start.path;
    this.size = start.size;
    this.offset = start.offset;
    this.startedAt = startedAt;
    this.#end = end;
  }

  /** Bytes in place now: those from before this attempt and those it moved. */
  get done(): number {
    return this.offset + this.moved;
  }

  /** Takes the transfer off the list of running ones; later calls do nothing. */
  end(): void {
    this.#end();
    this.#end = () => {};
  }
}

/** Where a session records the transfers it runs. */
export interface TransferTracker {
  /** Records a transfer as running until its {@link LiveTransfer.end}. */
  begin(start: TransferStart): LiveTransfer;
}

/** A tracker that keeps nothing (a session nobody lists, as in unit tests). */
export const UNTRACKED: TransferTracker = {
  begin: (start) => new LiveTransfer(start, Date.now(), () => {}),
};

/** Who a session is, as it logs in. */
export interface SessionStart {
  sessionId: string;
  user: string;
  /** The client's "address:port". */
  remote: string;
}

/** One logged-in session and its running transfers. */
export class LiveSession implements SessionStart, TransferTracker {
  readonly sessionId: string;
  readonly user: string;
  readonly remote: string;
  /** `Date.now()` at login. */
  readonly since: number;
  #transfers = new Set<LiveTransfer>();
  #now: () => number;

  /** `now`: milliseconds since the epoch, default `Date.now`. */
  constructor(start: SessionStart, now: () => number = Date.now) {
    this.sessionId = start.sessionId;
    this.user = start.user;
    this.remote = start.remote;
    this.#now = now;
    this.since = now();
  }

  begin(start: TransferStart): LiveTransfer {
    const transfer = new LiveTransfer(start, this.#now(), () => this.#transfers.delete(transfer));
    this.#transfers.add(transfer);
    return transfer;
  }

  /** The running transfers, oldest first. */
  get transfers(): LiveTransfer[] {
    return [...this.#transfers];
  }
}

/** Options of {@link SessionRegistry}. */
export interface SessionRegistryOptions {
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** Every live session of the server, and how many it has served since it started. */
export class SessionRegistry {
  /** `Date.now()` when the registry (the server) started. */
  readonly startedAt: number;
  #sessions = new Set<LiveSession>();
  #served = 0;

  constructor(options: SessionRegistryOptions = {}) {
    this.startedAt = (options.now ?? Date.now)();
  }

  /** Lists a session that just logged in, until {@link remove}d at logout. */
  add(session: LiveSession): void {
    this.#sessions.add(session);
    this.#served++;
  }

  remove(session: LiveSession): void {
    this.#sessions.delete(session);
  }

  /** The live sessions, in the order they logged in. */
  get sessions(): LiveSession[] {
    return [...this.#sessions];
  }

  /** Sessions that have logged in since the start, including the live ones. */
  get served(): number {
    return this.#served;
  }
}
