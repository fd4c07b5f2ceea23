/**
 * One logged-in client: reads frames, routes transfer frames to their
 * transfer and requests through the dispatch table, and enforces the two
 * kinds of failure (PROTOCOL.md §7): a broken frame closes the connection,
 * a failed operation is answered with an `Error` status.
 *
 * @module
 */

import { MAX_PATH_BYTES, MESSAGE_TYPE } from "../protocol/constants.ts";
import { ByteReader } from "../protocol/bytes.ts";
import { decode, encode, type Frame, messageName, Messages } from "../protocol/messages.ts";
import { ClosedMidFrame, ProtocolError } from "../protocol/protocol_error.ts";
import { STATUS } from "../protocol/status.ts";
import { resolveVirtualPath } from "../storage/virtual_path.ts";
import { serverLog } from "../log/logging.ts";
import { ConnectionLost, describeError, errorFrame } from "./error_reply.ts";
import { REQUEST_HANDLERS } from "./handlers.ts";
import type { Link } from "./handshake.ts";
import type { ServerMetrics } from "./metrics.ts";
import {
  type AuditDetail,
  type AuditedPath,
  auditedPath,
  type AuditOperation,
  type RequestContext,
  type RequestHandler,
} from "./request_context.ts";
import { TransferRegistry } from "./transfers.ts";
import { RequestPipeline } from "./request_pipeline.ts";
import type { ChangeFeed, RequestRecord } from "./change_feed.ts";
import type { TransferTracker } from "./session_registry.ts";
import type { ObservedStorage } from "./observed_storage.ts";
import type { TreeIndex } from "./tree_index.ts";
import type { Watchers } from "./watchers.ts";
import type { QuotaLedger } from "./quota.ts";
import type { UserPacers } from "./user_limits.ts";
import type { JournalPosition } from "../storage/journal.ts";
import { plural } from "../shared/plural.ts";

/** The turn of a request that runs alone: it has come. */
const DONE = Promise.resolve();

const TRANSFER_FRAMES = new Set<number>([
  MESSAGE_TYPE.DataZstd,
  MESSAGE_TYPE.Data,
  MESSAGE_TYPE.DataEnd,
  MESSAGE_TYPE.Cancel,
]);

/** How long a closing session waits for its last replies to be written. */
const CLOSE_FLUSH_MS = 5_000;

/** Replies queued beyond this many bytes make the session wait for the client to read. */
const MAX_UNWRITTEN_REPLY_BYTES = 256 * 1024;

/** The paths a request names, as the client sent them. */
interface SentPaths {
  path?: string;
  /** A rename's second path. */
  to?: string;
}

/**
 * Every request begins with a path (PROTOCOL.md §5.2), a rename with two;
 * read leniently, for the audit log.
 */
function sentPaths(frame: Frame): SentPaths {
  // Many paths: each file is audited alone.
  const many = [MESSAGE_TYPE.WriteFiles, MESSAGE_TYPE.WriteFilesIf, MESSAGE_TYPE.ReadFiles];
  if ((many as number[]).includes(frame.type)) return {};
  const reader = new ByteReader(frame.payload);
  const next = () => {
    try {
      return reader.string(MAX_PATH_BYTES);
    } catch {
      return undefined;
    }
  };
  const path = next();
  const twoPaths = frame.type === MESSAGE_TYPE.Rename || frame.type === MESSAGE_TYPE.RenameIf;
  return twoPaths ? { path, to: next() } : { path };
}

/** Options of {@link ServerSession}. */
export interface SessionOptions {
  user: string;
  sessionId: string;
  storage: ObservedStorage;
  index: TreeIndex;
  /** Where the session reports finished requests. */
  feed: ChangeFeed;
  watchers: Watchers;
  metrics: ServerMetrics;
  quota: QuotaLedger;
  pacers: UserPacers;
  compress: boolean;
  /** The client understands entry kind 4 (symlink). */
  symlinks: boolean;
  /** The client takes entries with their permission bits (`mode`). */
  modes: boolean;
  idleTimeoutMs: number;
  /** Where its running transfers are listed for `dfos server status` (default: nowhere). */
  tracker?: TransferTracker;
}

/** Serves requests for one authenticated connection until it closes. */
export class ServerSession implements RequestContext {
  readonly user: string;
  readonly sessionId: string;
  readonly storage: ObservedStorage;
  readonly index: TreeIndex;
  readonly metrics: ServerMetrics;
  readonly transfers: TransferRegistry;
  readonly quota: QuotaLedger;
  readonly pacers: UserPacers;
  readonly compress: boolean;
  readonly symlinks: boolean;
  readonly modes: boolean;
  cwd = "/";
  #link: Link;
  #feed: ChangeFeed;
  #watchers: Watchers;
  #idleTimeoutMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last request arrived (performance.now()). */
  #lastRequestMs = 0;
  /** Frames read so far, and how many had been when the storage was last told to tidy up. */
  #framesRead = 0;
  #tidiedAt = 0;
  #draining = false;
  readonly #pipeline = new RequestPipeline();
  /** Set once the session ends: from then on nothing more is sent. */
  #closing = false;

  constructor(link: Link, options: SessionOptions) {
    this.#link = link;
    this.user = options.user;
    this.sessionId = options.sessionId;
    this.storage = options.storage;
    this.index = options.index;
    this.#feed = options.feed;
    this.#watchers = options.watchers;
    this.metrics = options.metrics;
    this.quota = options.quota;
    this.pacers = options.pacers;
    this.compress = options.compress;
    this.symlinks = options.symlinks;
    this.modes = options.modes;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.transfers = new TransferRegistry(
      (operation, detail, result, code) => this.#audit(operation, detail, result, { code }),
      options.tracker,
    );
  }

  resolve(path: string): string {
    return resolveVirtualPath(this.cwd, path);
  }

  watch(folder: string | null, armedAt?: JournalPosition): void {
    if (folder === null) return this.#watchers.unwatch(this);
    this.#watchers.watch(this, {
      user: this.user,
      sessionId: this.sessionId,
      folder,
      armedAt,
      send: (frame) => this.send(frame),
    });
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return this.#link.writer.send(frame).catch((error) =>
      Promise.reject(new ConnectionLost(error))
    );
  }

  async reply(frame: Uint8Array): Promise<void> {
    if (this.#closing) return;
    const written = this.#link.writer.post(frame);
    if (this.#link.writer.queuedBytes > MAX_UNWRITTEN_REPLY_BYTES) {
      this.#link.writer.uncork();
      await written.catch((error) => Promise.reject(new ConnectionLost(error)));
    } else written.catch(() => {}); // The read loop sees a broken connection too.
  }

  /** Reads and serves frames until the client leaves, the session times out or breaks. */
  async run(): Promise<void> {
    this.#armIdleTimer();
    try {
      for (;;) {
        // Replies to requests already here leave together, once none is left to serve.
        if (!this.#link.reader.hasBufferedFrame) {
          this.#link.writer.uncork();
          this.#tidyWhenIdle();
        }
        const frame = await this.#link.reader.next();
        if (!frame) break;
        this.#framesRead++;
        this.#link.writer.cork();
        this.#lastRequestMs = performance.now(); // The idle timer looks at it when it fires.
        if (!(await this.#dispatch(frame))) break;
      }
    } catch (error) {
      await this.#onBrokenConnection(error);
    } finally {
      await this.#teardown();
    }
  }

  /**
   * Ends the session whatever ended it: nothing more is sent (replies
   * already queued still go), every download stops and every upload is
   * closed, keeping its partial; then the connection closes.
   */
  async #teardown(): Promise<void> {
    await this.#pipeline.settled(); // Whole files under way are stored (or refused) first.
    clearTimeout(this.#idleTimer);
    this.#watchers.unwatch(this);
    this.#closing = true;
    await this.transfers.closeAll(this.#draining ? "the server shut down" : "the session ended");
    await this.#repliesWritten();
    this.#link.close(); // Also fails a write a download is stuck in: the client does not read.
    await this.transfers.streamsEnded();
  }

  /**
   * Lets the storage finish what it put off (Storage.tidy) once the requests
   * begun so far have ended, if no frame has come in meanwhile: work left
   * for when no client waits.
   */
  #tidyWhenIdle(): void {
    const planned = this.#framesRead;
    if (planned === this.#tidiedAt) return;
    this.#tidiedAt = planned;
    this.#pipeline.settled().then(() => {
      if (this.#framesRead === planned) return this.storage.tidy();
    });
  }

  /**
   * Stops taking requests, tells the client, and closes once running
   * transfers have finished (the server enforces the grace period, `graceMs`).
   */
  async drain(graceMs: number): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    await this.send(encode(Messages.Notice, 0, {
      code: STATUS.SHUTTING_DOWN,
      message: shutdownNotice(this.transfers.active, graceMs),
    })).catch(() => {});
    this.transfers.onIdle = () => this.#closeAfterReplies();
    if (this.transfers.active === 0) this.#closeAfterReplies();
  }

  /** Closes once queued replies (a last upload's `Ok`, say) are written. */
  #closeAfterReplies(): void {
    this.#repliesWritten().finally(() => this.#link.close());
  }

  /** Resolves when every queued reply is written, or after {@link CLOSE_FLUSH_MS}. */
  async #repliesWritten(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_FLUSH_MS));
    await Promise.race([this.#link.writer.flushed(), timeout]);
    clearTimeout(timer);
  }

  async #dispatch(frame: Frame): Promise<boolean> {
    if (TRANSFER_FRAMES.has(frame.type)) {
      // A Cancel of a Read still in the pipeline finds its download once it has begun.
      const reading = this.#pipeline.untilFree(frame.id);
      if (reading) await reading;
      await this.transfers.route(this, frame);
      return true;
    }
    if (frame.type === Messages.Goodbye.type) {
      decode(Messages.Goodbye, frame); // Trailing bytes are a broken frame, even here.
      return false;
    }
    if (frame.id === 0) {
      throw new ProtocolError("request id 0 is reserved for the connection itself");
    }
    const handler = REQUEST_HANDLERS.get(frame.type);
    if (!handler) throw new ProtocolError(`unexpected ${messageName(frame.type)} after login`);
    // Before any reply or side effect (PROTOCOL.md §9), once an overlapping request of the id ended.
    const sameId = this.#pipeline.untilFree(frame.id);
    if (sameId) await sameId;
    this.transfers.checkUnused(frame.id);
    this.#pipeline.checkUnused(frame.id);
    if (handler.pipelined && !this.#draining) {
      // The reader reuses its buffer for the next frame: a request that outlives it has its own.
      const own = { ...frame, payload: frame.payload.slice() };
      await this.#pipeline.begin(
        frame.id,
        (turn) => this.#servePipelined(handler, own, turn),
        { writes: handler.writes, bytes: handler.holds?.(frame) ?? frame.payload.length },
      );
      return true;
    }
    await this.#pipeline.settled();
    if (this.#draining) {
      await this.reply(encode(Messages.Error, frame.id, {
        code: STATUS.SHUTTING_DOWN,
        message: "the server is shutting down",
      }));
      const refused = { code: STATUS.SHUTTING_DOWN, audited: false };
      this.#audit(handler.audit, {}, "the server is shutting down", refused);
      return true;
    }
    await this.#serve(handler, frame, DONE);
    return true;
  }

  /** Runs one request and audits it; a failed operation is answered with its status. */
  async #serve(handler: RequestHandler, frame: Frame, turn: Promise<void>): Promise<void> {
    await this.pacers.requests?.take(1);
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    const sent = sentPaths(frame);
    try {
      const detail = await handler.handle(this, frame, turn);
      await turn;
      if (detail?.files !== undefined) {
        for (const { result, code, ...file } of detail.files) {
          this.#audit(handler.audit, { ...file, durationMs: durationMs() }, result, { code });
        }
      } else if (handler.writes && !detail?.deferred) {
        const paths = detail?.path === undefined ? {} : this.#auditedPaths(sent, detail);
        this.#audit(handler.audit, { ...detail, ...paths, durationMs: durationMs() }, "ok");
      } else if (!detail?.deferred) {
        this.#audit(handler.audit, { durationMs: durationMs() }, "ok", { audited: false });
      }
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof ConnectionLost) throw error;
      await turn;
      const failure = describeError(error);
      const paths = this.#auditedPaths(sent, {});
      const code = failure.code;
      this.#audit(handler.audit, { ...paths, durationMs: durationMs() }, failure.message, { code });
      await this.reply(errorFrame(frame.id, failure));
    }
  }

  /** {@link #serve} in the pipeline: a broken frame or connection ends the session from here. */
  async #servePipelined(handler: RequestHandler, frame: Frame, turn: Promise<void>) {
    try {
      await this.#serve(handler, frame, turn);
    } catch (error) {
      await turn;
      await this.#onBrokenConnection(error);
      this.#closing = true;
      this.#link.close(); // The read loop ends; the session tears down.
    }
  }

  /**
   * The paths of a request for its audit record: resolved (as the handler
   * did, or here for one that failed), and as sent where that differs. A path
   * that cannot resolve (it has a NUL, say) is recorded only as sent.
   */
  #auditedPaths(sent: SentPaths, resolved: { path?: string; to?: string }): AuditDetail {
    const one = (typed: string | undefined, path: string | undefined): Partial<AuditedPath> => {
      if (typed === undefined) return { path };
      try {
        return auditedPath(typed, path ?? this.resolve(typed));
      } catch {
        return { requested: typed };
      }
    };
    const from = one(sent.path, resolved.path);
    if (sent.to === undefined) return from;
    const to = one(sent.to, resolved.to);
    return { ...from, to: to.path, requestedTo: to.requested };
  }

  /** A broken frame is answered with `Error` id 0, the connection's last frame (PROTOCOL.md §7.1). */
  async #onBrokenConnection(error: unknown): Promise<void> {
    if (error instanceof ProtocolError) {
      // A frame cut short by the end of the stream is most often a client killed mid-upload:
      // no fault worth a warning. The Error still goes out, for a peer that only half-closed.
      serverLog[error instanceof ClosedMidFrame ? "debug" : "warn"](
        "protocol error from {user}@{remote}: {error}",
        { user: this.user, remote: this.#link.remote, error: error.message },
      );
      await this.#sendLast(
        encode(Messages.Error, 0, { code: STATUS.PROTOCOL_ERROR, message: error.message }),
      );
      return;
    }
    if (this.#closing) return; // We closed it (idle), and said why.
    const reason = error instanceof ConnectionLost ? error.reason : error;
    serverLog.debug("{user} left: {error}", { user: this.user, error: String(reason) });
  }

  /** Queues `frame` and lets nothing follow it; resolves once it is written or failed. */
  async #sendLast(frame: Uint8Array): Promise<void> {
    this.#closing = true;
    await this.#link.writer.send(frame).catch(() => {});
  }

  /** Starts the idle timer, counting from now (see {@link #idleCheck}). */
  #armIdleTimer(): void {
    this.#lastRequestMs = performance.now();
    this.#idleTimer = setTimeout(() => this.#idleCheck(), this.#idleTimeoutMs);
  }

  /**
   * Ends the session `--idle-timeout` after its last request, unless a
   * transfer runs. A request only notes its time (a timer per request would
   * cost more than many a request does): a timer that fires early waits
   * for the rest.
   */
  #idleCheck(): void {
    const idleMs = performance.now() - this.#lastRequestMs;
    if (idleMs < this.#idleTimeoutMs) {
      this.#idleTimer = setTimeout(() => this.#idleCheck(), this.#idleTimeoutMs - idleMs);
      return;
    }
    if (this.transfers.active > 0) return this.#armIdleTimer();
    serverLog.info("closing {user}'s session {session}: idle for {seconds} s", {
      user: this.user,
      session: this.sessionId,
      seconds: this.#idleTimeoutMs / 1000,
    });
    this.#sendLast(encode(Messages.Error, 0, {
      code: STATUS.TIMEOUT,
      message: `idle for ${this.#idleTimeoutMs / 1000} s`,
    })).finally(() => this.#link.close());
  }

  /** Tells the feed of a finished request; `extra` as in `RequestRecord`. */
  #audit(
    operation: AuditOperation,
    detail: AuditDetail & { durationMs?: number },
    result: string,
    extra: Pick<RequestRecord, "code" | "audited"> = {},
  ): void {
    const { deferred: _, ...fields } = detail;
    this.#feed.request({
      operation,
      user: this.user,
      sessionId: this.sessionId,
      remote: this.#link.remote,
      detail: fields,
      result,
      ...extra,
    });
  }
}

/** What a client hears when the server starts shutting down, as one sentence. */
function shutdownNotice(running: number, graceMs: number): string {
  if (running === 0) return "the server is shutting down";
  const transfers = plural(running, "running transfer");
  return `the server is shutting down; ${transfers} ${running === 1 ? "has" : "have"} ${
    graceMs / 1000
  } s to finish`;
}
