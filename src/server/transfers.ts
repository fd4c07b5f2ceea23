/**
 * The transfers running on one session (PROTOCOL.md §5.4–§5.6): uploads
 * (opened in uploads.ts) receive their `Data` and commit on `DataEnd`; an
 * upload's bytes go to the storage's partial file and become visible only
 * on a verified commit.
 * Downloads stream from `downloads.ts`; here they hold their request id and
 * pass every frame through a {@link DownloadChannel}, so a cancelled or
 * closing download cannot send after its end.
 *
 * @module
 */

import { decode, encode, type Frame, Messages } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { decompressChunk } from "../protocol/compression.ts";
import { MESSAGE_TYPE } from "../protocol/constants.ts";
import { STATUS } from "../protocol/status.ts";
import { StorageError, type Upload } from "../storage/storage.ts";
import { toHex } from "../shared/hex.ts";
import { describeError, errorFrame } from "./error_reply.ts";
import type { Reservation } from "./quota.ts";
import type { AuditDetail, AuditedPath, RequestContext } from "./request_context.ts";
import {
  type LiveTransfer,
  type TransferStart,
  type TransferTracker,
  UNTRACKED,
} from "./session_registry.ts";

/** Downloads one session streams at once; further `Read`s wait (backpressure). */
export const MAX_CONCURRENT_DOWNLOADS = 8;

/** Upload ids whose failure we remember, to drop their in-flight `Data` quietly. */
const MAX_DISCARDED_IDS = 1024;

/** How a finished transfer is reported to the audit log: `code` is a failure's status. */
export type TransferAudit = (
  operation: "download" | "upload",
  detail: AuditDetail & { durationMs: number },
  result: string,
  code?: number,
) => void;

/** What the audit record of a transfer needs. */
interface TransferProgress {
  /** Where it goes: a path that did not resolve is recorded only as it was sent. */
  target: AuditedPath | { requested: string };
  startedAt: number;
  /** Bytes moved in this attempt. */
  received: number;
}

interface ActiveUpload extends TransferProgress {
  upload: Upload;
  /** Quota held for the bytes still to come. */
  reservation: Reservation;
  /** Its entry in the server's list of running transfers. */
  live: LiveTransfer;
}

/** An upload just opened, for {@link TransferRegistry.addUpload}. */
export interface OpenedUpload {
  upload: Upload;
  target: AuditedPath;
  /** Quota held for the bytes still to come. */
  reservation: Reservation;
  /** The file's announced size. */
  size: number;
}

/**
 * A streaming download's only way to the client. Once the download is
 * cancelled (or the session closes) both methods refuse with CANCELLED
 * before queueing anything, so no frame of it follows the `Cancel`.
 */
export interface DownloadChannel {
  readonly signal: AbortSignal;
  /** The download in the server's list of running transfers; the stream advances `moved`. */
  readonly progress: LiveTransfer;
  /** Queues a `Data` frame; resolves once it is written. */
  send(frame: Uint8Array): Promise<void>;
  /** Queues the final frame (`DataEnd` or `Error`); the request id is free from then on. */
  finish(frame: Uint8Array): Promise<void>;
}

/** The transfers running on one session. */
export class TransferRegistry {
  #uploads = new Map<number, ActiveUpload>();
  #discarding = new Set<number>();
  /** Streaming downloads by request id, until their final frame is queued or they are cancelled. */
  #downloads = new Map<number, AbortController>();
  /** Download streams still running (a cancelled one may still finish reading a chunk). */
  #streams = new Set<Promise<void>>();
  #audit: TransferAudit;
  #tracker: TransferTracker;
  #onIdle: () => void = () => {};

  /** `tracker` lists the running transfers for `dfos server status` (default: nowhere). */
  constructor(audit: TransferAudit, tracker: TransferTracker = UNTRACKED) {
    this.#audit = audit;
    this.#tracker = tracker;
  }

  /** Running uploads plus running download streams. */
  get active(): number {
    return this.#uploads.size + this.#streams.size;
  }

  /** Called every time the number of active transfers drops to zero. */
  set onIdle(callback: () => void) {
    this.#onIdle = callback;
  }

  /**
   * Refuses a request whose id a transfer in flight holds (PROTOCOL.md §9):
   * checked before the request is handled at all, so a reuse has no reply
   * and no side effect but the end of the connection.
   */
  checkUnused(id: number): void {
    const kind = this.#uploads.has(id) ? "an upload" : this.#downloads.has(id) ? "a download" : "";
    if (kind) throw new ProtocolError(`request id ${id} is already in use by ${kind} in progress`);
  }

  /** Routes a `Data`, `DataEnd` or `Cancel` frame. */
  route(context: RequestContext, frame: Frame): Promise<void> {
    if (frame.type === Messages.DataEnd.type) return this.#finishUpload(context, frame);
    if (frame.type === Messages.Cancel.type) return this.#cancel(context, frame);
    return this.#receive(context, frame);
  }

  /**
   * Stops everything at once, sending nothing: downloads stop before their
   * next frame, uploads close and keep their partial for a later resume.
   * `reason` is what the audit log records as their result.
   * Resolves once every upload is closed; {@link streamsEnded} waits for the downloads.
   */
  async closeAll(reason: string): Promise<void> {
    const ended = new StorageError(STATUS.CANCELLED, reason);
    for (const controller of this.#downloads.values()) controller.abort(ended);
    this.#downloads.clear();
    const uploads = [...this.#uploads.keys()].map((id) => this.#take(id)!);
    await Promise.allSettled(
      uploads.map(({ upload, reservation, received }) =>
        upload.abort(true).finally(() => reservation(received))
      ),
    );
    // Like downloads, an upload the session's end cut short is on the record.
    for (const state of uploads) this.#report("upload", state, ended.message, ended.code);
  }

  /** Resolves when every download stream has ended (and closed its file). */
  async streamsEnded(): Promise<void> {
    await Promise.allSettled([...this.#streams]);
  }

  /**
   * Runs a streaming download as request `id`, once fewer than
   * {@link MAX_CONCURRENT_DOWNLOADS} are running (the session reads no
   * frame meanwhile). The caller has checked the id with {@link checkUnused}.
   */
  async startDownload(
    context: RequestContext,
    id: number,
    start: Omit<TransferStart, "direction">,
    run: (channel: DownloadChannel) => Promise<void>,
  ): Promise<void> {
    while (this.#streams.size >= MAX_CONCURRENT_DOWNLOADS) await Promise.race(this.#streams);
    const controller = new AbortController();
    const refuse = () => Promise.reject(controller.signal.reason);
    const progress = this.#tracker.begin({ ...start, direction: "download" });
    const channel: DownloadChannel = {
      signal: controller.signal,
      progress,
      send: (frame) => controller.signal.aborted ? refuse() : context.send(frame),
      finish: (frame) => {
        if (controller.signal.aborted) return refuse();
        this.#downloads.delete(id);
        return context.send(frame);
      },
    };
    this.#downloads.set(id, controller);
    const stream: Promise<void> = run(channel).finally(() => {
      progress.end();
      if (this.#downloads.get(id) === controller) this.#downloads.delete(id);
      this.#streams.delete(stream);
      this.#settle();
    });
    this.#streams.add(stream);
  }

  /** Registers an opened upload as request `id` (checked with {@link checkUnused}). */
  addUpload(id: number, { upload, target, reservation, size }: OpenedUpload): void {
    if (this.#uploads.has(id)) throw new Error(`bug: request id ${id} registered twice`);
    this.#discarding.delete(id);
    const live = this.#tracker.begin({
      direction: "upload",
      path: target.path,
      size,
      offset: upload.offset,
    });
    this.#uploads.set(id, {
      upload,
      target,
      startedAt: performance.now(),
      received: 0,
      reservation,
      live,
    });
  }

  /**
   * Removes an upload from the running set. Its quota reservation ends only
   * once its bytes are committed or kept (the caller's `finally`): until
   * then the usage a node reads in the database may not count them yet.
   */
  #take(id: number): ActiveUpload | undefined {
    const state = this.#uploads.get(id);
    if (!state) return undefined;
    this.#uploads.delete(id);
    state.live.end();
    return state;
  }

  async #receive(context: RequestContext, frame: Frame): Promise<void> {
    const state = this.#uploads.get(frame.id);
    if (!state) {
      if (this.#discarding.has(frame.id)) return;
      throw new ProtocolError(`Data for request ${frame.id}, which is not an upload in progress`);
    }
    // A payload that does not inflate, or compression nobody agreed to, is a broken frame.
    const compressed = frame.type === MESSAGE_TYPE.DataZstd;
    if (compressed && !context.compress) {
      throw new ProtocolError("DataZstd without agreeing on zstd");
    }
    const bytes = compressed ? decompressChunk(frame.payload) : frame.payload;
    try {
      await state.upload.write(bytes);
      state.received += bytes.length;
      state.live.moved = state.received;
      context.metrics.bytesIn += frame.payload.length;
      // Waiting here stops reading this connection; TCP flow control slows the client.
      await context.pacers.bandwidth?.take(frame.payload.length);
    } catch (error) {
      await this.#failUpload(context, frame.id, state, error);
    }
  }

  async #finishUpload(context: RequestContext, frame: Frame): Promise<void> {
    const { sha256 } = decode(Messages.DataEnd, frame);
    if (this.#discarding.delete(frame.id)) return;
    const state = this.#take(frame.id);
    if (!state) throw new ProtocolError(`DataEnd for request ${frame.id}, which is not an upload`);
    try {
      await state.upload.commit(toHex(sha256));
      context.metrics.transfersCompleted++;
      this.#report("upload", state, "ok");
      await context.reply(encode(Messages.Ok, frame.id, {}));
    } catch (error) {
      await state.upload.abort(true).catch(() => {}); // Closes it; a short upload stays resumable.
      const failure = describeError(error);
      this.#report("upload", state, failure.message, failure.code);
      await context.reply(errorFrame(frame.id, failure));
    } finally {
      state.reservation(state.received);
      this.#settle();
    }
  }

  async #cancel(context: RequestContext, frame: Frame): Promise<void> {
    decode(Messages.Cancel, frame);
    const download = this.#downloads.get(frame.id);
    if (download) {
      // The final reply goes now, ahead of replies to later requests; the stream sends nothing more.
      this.#downloads.delete(frame.id);
      download.abort(cancelled());
      await context.reply(errorFrame(frame.id, describeError(cancelled())));
      return;
    }
    const state = this.#uploads.get(frame.id);
    if (state) await this.#failUpload(context, frame.id, state, cancelled());
  }

  async #failUpload(context: RequestContext, id: number, state: ActiveUpload, error: unknown) {
    this.#take(id);
    this.#remember(id);
    await state.upload.abort(true).catch(() => {});
    state.reservation(state.received);
    const failure = describeError(error);
    this.#report("upload", state, failure.message, failure.code);
    this.#settle();
    await context.reply(errorFrame(id, failure));
  }

  #remember(id: number): void {
    if (this.#discarding.size >= MAX_DISCARDED_IDS) {
      this.#discarding.delete(this.#discarding.values().next().value!);
    }
    this.#discarding.add(id);
  }

  #report(
    operation: "download" | "upload",
    state: TransferProgress,
    result: string,
    code?: number,
  ): void {
    const durationMs = Math.round(performance.now() - state.startedAt);
    this.#audit(operation, { ...state.target, bytes: state.received, durationMs }, result, code);
  }

  #settle(): void {
    if (this.active === 0) this.#onIdle();
  }

  /** Exposed for downloads, which report themselves when they end (`code`: a failure's status). */
  reportDownload(
    target: AuditedPath | { requested: string },
    bytes: number,
    startedAt: number,
    result: string,
    code?: number,
  ): void {
    this.#report("download", { target, received: bytes, startedAt }, result, code);
  }
}

function cancelled(): StorageError {
  return new StorageError(STATUS.CANCELLED, "cancelled by the client");
}
