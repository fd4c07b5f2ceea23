/**
 * An upload on the object-store backend: a multipart upload whose parts of
 * {@link PART_SIZE} are buffered in memory, up to `MAX_PARTS_IN_FLIGHT` (object_upload_parts.ts)
 * stored at once while the next fills (object_upload_parts.ts), each recorded
 * in PostgreSQL as the store confirms it, so that it resumes on any node.
 *
 * - `offset`: the bytes of the completed parts, plus the tail an interrupted
 *   upload kept (the bytes of the part it was in, stored as a small object
 *   when it stopped, see object_upload_start.ts). A node killed mid-part
 *   keeps no tail: the client sends that part again. Stopped while parts
 *   were in flight, it keeps those stored and, as the tail, the bytes of the
 *   first that failed (or of the part being filled, if none did).
 * - The file is named only once the multipart upload is complete and the
 *   SHA-256 of the whole content matches. An upload that ran from its first
 *   byte hashes the bytes as they arrive; a resumed one has lost that hash
 *   state, so it reads the completed object back once to verify it before
 *   naming it (a resumed upload of N bytes costs N more bytes read).
 * - A file that fits in one part (nothing completed yet at commit) is put as
 *   one object, or named to an object of the same content the user has,
 *   like writeFile; its multipart upload is dropped.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { STATUS } from "../../protocol/status.ts";
import type { UploadPart, UploadRecord, UploadRecords } from "../../database/upload_records.ts";
import {
  type CommitOptions,
  type EntryInfo,
  type PlacementGuard,
  StorageError,
  type Upload,
} from "../storage.ts";
import { PART_SIZE } from "./object_backend.ts";
import { toStorageFailure } from "./object_failures.ts";
import { setUploadTail } from "./object_queries.ts";
import { PartPipeline } from "./object_upload_parts.ts";
import { discardUpload, startUpload, type UploadTarget } from "./object_upload_start.ts";
import {
  entryInfoOf,
  placeWholeFile,
  storeNewObject,
  type UserObjects,
} from "./object_whole_file.ts";

/** What {@link ObjectUpload.open} needs. */
export interface ObjectUploadOptions extends UploadTarget {
  objects: UserObjects;
  records: UploadRecords;
  overwrite: boolean;
  resume: boolean;
}

/** One upload being written by this process. */
export class ObjectUpload implements Upload {
  readonly offset: number;
  readonly #options: ObjectUploadOptions;
  readonly #record: UploadRecord;
  readonly #parts: PartPipeline;
  readonly #claim: string;
  /** Null once the upload resumed after completed parts: verified by reading back instead. */
  readonly #hash: Hash | null;
  #buffer: Uint8Array;
  #buffered: number;
  /** Bytes received: those of the parts before, of the tail and of every write. */
  #received: number;
  #hasTail: boolean;
  #state: "open" | "broken" | "closed" = "open";
  #commitResult: Promise<EntryInfo> | null = null;
  #released = false;
  /** The writes running, if any (settles when they end; never rejects). */
  #writing: Promise<void> | null = null;

  private constructor(options: ObjectUploadOptions, claim: string, started: StartedUpload) {
    this.#options = options;
    this.#claim = claim;
    this.#record = started.record;
    this.#parts = new PartPipeline(
      started.parts,
      (number, bytes) => this.#storePart(number, bytes),
    );
    const completed = started.parts.reduce((sum, part) => sum + part.size, 0);
    this.#buffer = new Uint8Array(Math.min(PART_SIZE, options.size - completed));
    this.#buffer.set(started.tail);
    this.#buffered = started.tail.length;
    this.#hasTail = started.hasTail;
    this.#hash = started.parts.length === 0 ? createHash("sha256").update(started.tail) : null;
    this.offset = completed + this.#buffered;
    this.#received = this.offset;
  }

  /** Starts or resumes the upload; EXISTS while this process writes the same one. */
  static async open(options: ObjectUploadOptions): Promise<ObjectUpload> {
    const { objects, path, size, mtimeMs } = options;
    const claim = `${objects.user}\0${path}\0${size}\0${mtimeMs}`;
    if (!objects.backend.uploads.claim(claim)) {
      throw new StorageError(STATUS.EXISTS, `${path}: another upload of this file is in progress`);
    }
    try {
      const started = await startUpload(objects, options.records, options, options.resume);
      objects.backend.uploads.attach(started.record.id);
      return new ObjectUpload(options, claim, started);
    } catch (error) {
      objects.backend.uploads.release(claim);
      throw toStorageFailure(error, path);
    }
  }

  /**
   * Appends bytes; a full part is sent to the store (waiting, first, for
   * fewer than `MAX_PARTS_IN_FLIGHT` (object_upload_parts.ts) to be on their way). A part that
   * failed fails the next write, or the commit.
   */
  write(chunk: Uint8Array): Promise<void> {
    // One at a time (they fill one buffer); the first starts at once.
    const writing = this.#writing
      ? this.#writing.then(() => this.#write(chunk))
      : this.#write(chunk);
    const settled: Promise<void> = writing.catch(() => {}).finally(() => {
      if (this.#writing === settled) this.#writing = null;
    });
    this.#writing = settled;
    return writing;
  }

  async #write(chunk: Uint8Array): Promise<void> {
    this.#assertOpen();
    const { path, size } = this.#options;
    if (this.#received + chunk.length > size) {
      throw new StorageError(STATUS.TOO_LARGE, `${path}: more bytes than the announced ${size}`);
    }
    this.#hash?.update(chunk);
    let taken = 0;
    try {
      while (taken < chunk.length) {
        if (this.#buffered === PART_SIZE) await this.#sendPart();
        const count = Math.min(chunk.length - taken, this.#buffer.length - this.#buffered);
        this.#buffer.set(chunk.subarray(taken, taken + count), this.#buffered);
        this.#buffered += count;
        this.#received += count;
        taken += count;
      }
      if (this.#buffered === PART_SIZE) await this.#sendPart();
    } catch (error) {
      this.#state = "broken";
      throw toStorageFailure(error, path);
    }
  }

  /** Verifies and names the file (see the module's notes); resolves to its entry as placed. */
  async commit(sha256Hex: string, options: CommitOptions = {}): Promise<EntryInfo> {
    if (this.#commitResult) return await this.#commitResult;
    await this.#writing;
    if (this.#commitResult) return await this.#commitResult;
    this.#assertOpen();
    const { path, size } = this.#options;
    if (this.#received !== size) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `${path}: only ${this.#received} of ${size} bytes arrived`,
      );
    }
    this.#state = "closed";
    const guard = options.guard ?? ((place) => place());
    this.#commitResult = this.#finish(sha256Hex.toLowerCase(), guard)
      .finally(() => this.#release());
    return await this.#commitResult;
  }

  /** Stops: keeps what arrived for a resume (the unfinished part as the tail), or drops it all. */
  async abort(keepPartial: boolean): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    try {
      await this.#writing;
      await this.#parts.settle(); // Parts in flight are recorded, or their bytes kept, first.
      if (keepPartial) await this.#saveTail();
      else await this.#discard();
    } finally {
      this.#release();
    }
  }

  async #finish(sha256: string, guard: PlacementGuard): Promise<EntryInfo> {
    try {
      if (!this.#parts.started) return await this.#placeWhole(sha256, guard);
      return await this.#placeMultipart(sha256, guard);
    } catch (error) {
      const failure = toStorageFailure(error, this.#options.path);
      if (failure.code === STATUS.CHECKSUM_MISMATCH || failure.code === STATUS.CONFLICT) {
        await this.#discard().catch(() => {}); // Moot: nothing will resume it.
      } else {
        await this.#parts.settle();
        await this.#saveTail().catch(() => {});
      }
      throw failure;
    }
  }

  /** Everything is in the buffer: one object, then the multipart upload is dropped. */
  async #placeWhole(sha256: string, guard: PlacementGuard): Promise<EntryInfo> {
    this.#verify(this.#hash!.digest("hex"), sha256);
    const { objects, path, mtimeMs, overwrite } = this.#options;
    const content = this.#buffer.subarray(0, this.#buffered);
    const entry = await placeWholeFile(objects, {
      path,
      content,
      sha256,
      mtimeMs,
      overwrite,
      guard,
    });
    await this.#discard().catch(() => {}); // A record left is swept as a stale partial.
    return entry;
  }

  /** The last part, the store's completion, the check of the whole, then the name. */
  async #placeMultipart(sha256: string, guard: PlacementGuard): Promise<EntryInfo> {
    const { objects, path, overwrite } = this.#options;
    const { store } = objects.backend;
    const { objectKey, storeUploadId } = this.#record;
    if (this.#buffered > 0) await this.#sendPart();
    await this.#parts.settle();
    if (this.#parts.failure) throw this.#parts.failure.error;
    await store.completeMultipartUpload(
      objectKey,
      storeUploadId,
      this.#parts.parts().map((part) => ({
        partNumber: part.number,
        etag: part.etag,
      })),
    );
    this.#verify(this.#hash?.digest("hex") ?? await this.#readBackDigest(), sha256);
    const placed = await guard(async () => {
      const { entry } = await this.#options.records.complete(this.#record.id, sha256, {
        overwrite,
      });
      objects.backend.ledger(objects.user).note("put", path);
      return { path, entry: entryInfoOf(entry) };
    });
    return placed.entry;
  }

  #verify(actual: string, expected: string): void {
    if (actual === expected) return;
    throw new StorageError(
      STATUS.CHECKSUM_MISMATCH,
      `${this.#options.path}: the bytes received do not match the announced SHA-256`,
    );
  }

  /** The SHA-256 of the completed object, read back as a stream (a resumed upload's check). */
  async #readBackDigest(): Promise<string> {
    const hash = createHash("sha256");
    const { body } = await this.#options.objects.backend.store.read(this.#record.objectKey);
    for await (const chunk of body) hash.update(chunk);
    return hash.digest("hex");
  }

  /** Hands the buffer to the pipeline as the next part and starts a new one. */
  async #sendPart(): Promise<void> {
    if (this.#parts.failure) throw this.#parts.failure.error;
    const bytes = this.#buffer.subarray(0, this.#buffered);
    await this.#parts.send(bytes);
    this.#buffer = this.#parts.buffer(Math.min(PART_SIZE, this.#options.size - this.#received));
    this.#buffered = 0;
  }

  /** Stores part `number` and records it; the first part sent holds the tail, which is dropped. */
  async #storePart(number: number, bytes: Uint8Array): Promise<UploadPart> {
    const { objects, records } = this.#options;
    const { objectKey, storeUploadId } = this.#record;
    const etag = await objects.backend.store.uploadPart(objectKey, storeUploadId, number, bytes);
    const part = { number, size: bytes.length, etag };
    await records.recordPart(this.#record.id, part);
    if (
      number === this.#parts.firstNew && this.#hasTail &&
      await setUploadTail(objects.backend.database, this.#record.id, null)
    ) {
      this.#hasTail = false;
    }
    return part;
  }

  /**
   * Keeps, as the upload's tail (a small object of its own), the bytes that
   * follow the last part stored without a gap: the first failed part's, or
   * the unfinished part's. Parts in flight have settled.
   */
  async #saveTail(): Promise<void> {
    const failed = this.#parts.firstFailedBytes();
    const bytes = failed ?? this.#buffer.subarray(0, this.#buffered);
    if (bytes.length === 0) return;
    const { objects, path } = this.#options;
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const tailId = await storeNewObject(objects, path, bytes, sha256);
    await setUploadTail(objects.backend.database, this.#record.id, tailId);
    this.#hasTail = true;
  }

  async #discard(): Promise<void> {
    await discardUpload(this.#options.objects, this.#options.records, this.#record);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#buffer = new Uint8Array(0);
    this.#buffered = 0;
    this.#parts.clear();
    this.#options.objects.backend.uploads.release(this.#claim, this.#record.id);
  }

  #assertOpen(): void {
    const { path } = this.#options;
    const failure = this.#parts.failure;
    if (failure && this.#state === "open") {
      this.#state = "broken";
      throw toStorageFailure(failure.error, path);
    }
    if (this.#state === "broken") {
      throw new StorageError(STATUS.IO_ERROR, `${path}: an earlier write failed`);
    }
    if (this.#state === "closed") {
      throw new StorageError(STATUS.BAD_REQUEST, `${path}: the upload is already finished`);
    }
  }
}

type StartedUpload = Awaited<ReturnType<typeof startUpload>>;
