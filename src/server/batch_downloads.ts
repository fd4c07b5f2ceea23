/**
 * `ReadFiles` (PROTOCOL.md §5.4.1): many small files read in one request
 * and answered in one `FileContents` frame, each with its own outcome, size,
 * mtime and SHA-256. A file too large for the batch (over the whole-file
 * limit, or past the reply's room) is answered TOO_LARGE, for the client to
 * fetch with `Read`; any other failure is that file's alone. Each file is
 * audited as the `download` a `Read` of it would have been.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  FRAME_HEADER_SIZE,
  MAX_BATCH_BYTES,
  MAX_FRAME_SIZE,
  MAX_WHOLE_FILE_SIZE,
} from "../protocol/constants.ts";
import {
  decode,
  encode,
  type Frame,
  Messages,
  type WireFileContent,
} from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import { type ReadHandle, type StorageBatch, StorageError } from "../storage/storage.ts";
import { describeError, fitText } from "./error_reply.ts";
import { concatBytes } from "../shared/concat_bytes.ts";
import {
  type AuditDetail,
  type AuditedPath,
  auditedPath,
  type RequestContext,
} from "./request_context.ts";

/** Bytes a file's entry takes in `FileContents` beside its message: code, counts, size, mtime, digest. */
const ENTRY_BYTES = 2 + 4 + 8 + 8 + 4 + 32;
/** The frame's own fields: the header and the two counts. */
const FRAME_FIELD_BYTES = FRAME_HEADER_SIZE + 4 + 4;

/** `ReadFiles`: reads each file whole, in order, and answers them all in one frame. */
export async function handleReadFiles(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
): Promise<AuditDetail> {
  const { paths } = decode(Messages.ReadFiles, frame);
  // The user's request rate counts files: the session took one for the request itself.
  if (paths.length > 1) await context.pacers.requests?.take(paths.length - 1);
  const reply = new ContentsReply(paths.length);
  const records: (() => void)[] = [];
  // The files of one folder are reached by one walk (walk_scope.ts).
  using batch = context.storage.batch();
  for (const sent of paths) {
    const startedAt = performance.now();
    let target: AuditedPath | { requested: string } = { requested: sent };
    try {
      const path = context.resolve(sent);
      target = auditedPath(sent, path);
      const read = await readSmall(context, path, reply.room(), batch);
      reply.add(read.entry, read.bytes);
      const done = target;
      records.push(() =>
        context.transfers.reportDownload(done, read.bytes.length, startedAt, "ok")
      );
    } catch (error) {
      const failure = describeError(error);
      const tooLarge = error instanceof TooLarge;
      const size = tooLarge ? error.size : 0;
      reply.add({ ...failure, size, mtimeMs: 0, sha256: new Uint8Array() }, new Uint8Array());
      // A file left for a Read of its own is audited by that Read, not as a failure here.
      const failed = target;
      if (!tooLarge) {
        records.push(() =>
          context.transfers.reportDownload(failed, 0, startedAt, failure.message, failure.code)
        );
      }
    }
  }
  const encoded = reply.encode(frame.id);
  await context.pacers.bandwidth?.take(encoded.length);
  await turn;
  await context.reply(encoded);
  // Audited in the request's turn, once the reply is queued, as a Read is.
  context.metrics.bytesOut += encoded.length;
  context.metrics.transfersCompleted += reply.sent;
  for (const record of records) record();
  return { deferred: true };
}

/** A file too large for the batch: the client reads it with `Read`. */
class TooLarge extends StorageError {
  readonly size: number;
  constructor(path: string, size: number) {
    super(STATUS.TOO_LARGE, `${path}: ${size} bytes do not fit this batch; read it on its own`);
    this.size = size;
  }
}

/** Reads the file at `path` whole, if it has at most `room` bytes (and is a small file). */
async function readSmall(
  context: RequestContext,
  path: string,
  room: number,
  batch: StorageBatch,
) {
  const handle: ReadHandle = await context.storage.openRead(path, { batch });
  try {
    if (handle.size > Math.min(MAX_WHOLE_FILE_SIZE, room)) throw new TooLarge(path, handle.size);
    const bytes = new Uint8Array(handle.size);
    for (let filled = 0; filled < bytes.length;) {
      const read = await handle.read(bytes.subarray(filled), filled);
      if (read === null) throw new StorageError(STATUS.IO_ERROR, "file shrank while being read");
      filled += read;
    }
    const sha256 = createHash("sha256").update(bytes).digest();
    const entry = { code: 0, message: "", size: bytes.length, mtimeMs: handle.mtimeMs, sha256 };
    return { entry, bytes };
  } finally {
    handle.close();
  }
}

/** The `FileContents` being built, kept within the frame limit. */
class ContentsReply {
  readonly #files: WireFileContent[] = [];
  readonly #contents: Uint8Array[] = [];
  #contentBytes = 0;
  #frameBytes: number;

  constructor(count: number) {
    // Every file's fixed fields are set aside from the start, so the last ones always fit.
    this.#frameBytes = FRAME_FIELD_BYTES + count * ENTRY_BYTES;
  }

  /** Bytes of file content that still fit. */
  room(): number {
    return Math.max(0, Math.min(MAX_BATCH_BYTES - this.#contentBytes, this.#left()));
  }

  /** Files whose bytes are in the reply. */
  sent = 0;

  add(entry: WireFileContent, bytes: Uint8Array): void {
    if (entry.code === 0) this.sent++;
    // A failure's message shrinks to the room left (with too little, it is empty).
    const room = this.#left() - 8;
    const message = entry.message === "" || room < 64 ? "" : fitText(entry.message, room);
    const messageBytes = new TextEncoder().encode(message).length;
    this.#files.push({ ...entry, message });
    this.#contents.push(bytes);
    this.#contentBytes += bytes.length;
    this.#frameBytes += messageBytes + bytes.length;
  }

  encode(id: number): Uint8Array {
    const content = concatBytes(...this.#contents);
    return encode(Messages.FileContents, id, { files: this.#files, content });
  }

  #left(): number {
    return MAX_FRAME_SIZE - this.#frameBytes;
  }
}
