/**
 * The request channel of a logged-in connection: framing, request ids and
 * the routing of reply frames. Every request gets its own id, so any number
 * may be in flight at once; one reader routes each reply frame to the
 * request it answers, and frames with id 0 (notices, a fatal error) to the
 * connection. The typed operations built on it are in `remote_fs.ts`.
 *
 * @module
 */

import { MESSAGE_TYPE } from "../protocol/constants.ts";
import type { FrameReader } from "../protocol/frame_reader.ts";
import type { FrameWriter } from "../protocol/frame_writer.ts";
import {
  decode,
  encode,
  type Frame,
  messageName,
  Messages,
  type MessageSpec,
} from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import { connectionEnded, ConnectionError, RemoteError } from "./errors.ts";
import { remoteErrorOf, throwIfError } from "./replies.ts";
import type { JournalPosition } from "../storage/journal.ts";
import { AbortFanout } from "../shared/abort_fanout.ts";

/** Receives the frames that answer request `id`; returns true when the request is complete. */
export type ReplyHandler = (frame: Frame, id: number) => boolean | Promise<boolean>;

/** How long a cancelled request may take to end before the client stops waiting for it, ms. */
export const CANCEL_REPLY_TIMEOUT_MS = 10_000;

interface Pending {
  handle: ReplyHandler;
  fail: (error: Error) => void;
}

/** The open link a channel runs on. */
export interface ChannelLink {
  conn: Deno.Conn;
  reader: FrameReader;
  writer: FrameWriter;
}

/** Requests and their replies over one logged-in connection. */
export class RequestChannel {
  #conn: Deno.Conn;
  #reader: FrameReader;
  #writer: FrameWriter;
  #pending = new Map<number, Pending>();
  /** Cancels the requests that share a signal (every file of a tree) through one listener. */
  #aborts = new AbortFanout();
  #nextId = 1;
  #closed: Error | undefined;
  #onNotice: (message: string) => void;
  /** The server sent `Notice` SHUTTING_DOWN: the end of the connection is that shutdown. */
  #serverShutDown = false;
  /** Told of each `Changed` the server sends while a `Changes` watch is on (PROTOCOL.md §5.9.3). */
  onChanged: ((position: JournalPosition) => void) | undefined;
  readonly closedPromise: Promise<void>;

  constructor(link: ChannelLink, onNotice: (message: string) => void) {
    this.#conn = link.conn;
    this.#reader = link.reader;
    this.#writer = link.writer;
    this.#onNotice = onNotice;
    this.closedPromise = this.#readLoop();
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Why the connection ended, once it has. */
  get closedReason(): Error | undefined {
    return this.#closed;
  }

  /**
   * Sends a request and routes every reply frame for it to `onFrame` until
   * that returns true; resolves then. Rejects if the connection ends first.
   * A frame's payload is only valid during the `onFrame` call.
   *
   * Once `signal` is aborted the request is cancelled (PROTOCOL.md §5.6):
   * `Cancel` goes out with its id and its frames are still routed until the
   * last one, so the id is free and the session usable when this settles. An
   * exchange that then ends CANCELLED rejects with the signal's reason; one
   * the server does not end within {@link CANCEL_REPLY_TIMEOUT_MS} is given up.
   */
  exchange<T>(
    spec: MessageSpec<T>,
    value: T,
    onFrame: ReplyHandler,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    const replied = new Promise<void>((resolve, reject) => {
      this.#pending.set(id, {
        handle: async (frame) => {
          const done = await onFrame(frame, id);
          if (done) resolve();
          return done;
        },
        fail: reject,
      });
      this.#writer.post(encode(spec, id, value)).catch((error) => {
        this.#pending.delete(id);
        reject(this.#lost(error));
      });
    });
    return signal ? this.#cancellable(replied, id, signal) : replied;
  }

  /** `replied`, with a `Cancel` for request `id` when `signal` is aborted first. */
  async #cancellable(replied: Promise<void>, id: number, signal: AbortSignal): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cancel = () => {
      this.sendFrame(encode(Messages.Cancel, id, {})).catch(() => {});
      timer = setTimeout(() => this.#giveUp(id, signal.reason), CANCEL_REPLY_TIMEOUT_MS);
    };
    const unsubscribe = this.#aborts.onAbort(signal, cancel);
    try {
      await replied;
    } catch (error) {
      const cancelled = error instanceof RemoteError && error.code === STATUS.CANCELLED;
      throw signal.aborted && cancelled ? signal.reason : error;
    } finally {
      unsubscribe();
      clearTimeout(timer);
    }
  }

  /** Stops waiting for request `id`: a frame that still comes for it is dropped. */
  #giveUp(id: number, reason: unknown): void {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    pending?.fail(reason instanceof Error ? reason : new Error(String(reason)));
  }

  /** Sends a request and resolves with its single reply; `Error` replies reject with {@link RemoteError}. */
  async call<T>(spec: MessageSpec<T>, value: T): Promise<Frame> {
    let reply: Frame | undefined;
    await this.exchange(spec, value, (frame) => {
      reply = { ...frame, payload: frame.payload.slice() };
      return true;
    });
    return throwIfError(reply!);
  }

  /** Sends one raw frame (used for `Data`, `DataEnd` and `Cancel`). */
  sendFrame(frame: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    return this.#writer.send(frame).catch((error) => Promise.reject(this.#lost(error)));
  }

  /** Says goodbye and closes. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = new ConnectionError("connection closed");
      await this.#writer.send(encode(Messages.Goodbye, 0, {})).catch(() => {});
      closeQuietly(this.#conn);
    }
    await this.closedPromise;
  }

  async #readLoop(): Promise<void> {
    let ending: Error | undefined;
    try {
      for (;;) {
        // Requests issued while replies already here are handled leave together, in one write.
        if (!this.#reader.hasBufferedFrame) this.#writer.uncork();
        const frame = await this.#reader.next();
        if (!frame) break;
        this.#writer.cork();
        if (frame.id === 0) {
          const fatal = this.#onConnectionFrame(frame);
          if (fatal) {
            ending = fatal;
            break;
          }
          continue;
        }
        const pending = this.#pending.get(frame.id);
        if (!pending) continue; // A late frame for a request we gave up on.
        try {
          if (await pending.handle(frame, frame.id)) this.#pending.delete(frame.id);
        } catch (error) {
          this.#pending.delete(frame.id);
          pending.fail(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } catch (error) {
      ending = this.#lost(error);
    }
    this.#closed ??= ending ?? connectionEnded(undefined, this.#serverShutDown);
    closeQuietly(this.#conn);
    for (const pending of this.#pending.values()) pending.fail(this.#closed);
    this.#pending.clear();
  }

  #onConnectionFrame(frame: Frame): Error | undefined {
    if (frame.type === MESSAGE_TYPE.Notice) {
      const notice = decode(Messages.Notice, frame);
      if (notice.code === STATUS.SHUTTING_DOWN) this.#serverShutDown = true;
      this.#onNotice(notice.message);
      return undefined;
    }
    if (frame.type === MESSAGE_TYPE.Changed) {
      this.onChanged?.(decode(Messages.Changed, frame));
      return undefined;
    }
    if (frame.type === MESSAGE_TYPE.Error) return remoteErrorOf(frame);
    return new ConnectionError(`unexpected ${messageName(frame.type)} from the server`);
  }

  #lost(error: unknown): Error {
    if (this.#closed) return this.#closed;
    if (error instanceof RemoteError || error instanceof ConnectionError) return error;
    return connectionEnded(error, this.#serverShutDown);
  }
}

/** Closes `conn`, which may be closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
