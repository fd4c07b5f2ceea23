/**
 * An upload into {@link LocalStorage}: bytes go to a partial file under the
 * user's `.dfos/partial` folder, hashed as they arrive, and only a complete,
 * verified file is renamed onto the real name.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { STATUS } from "../protocol/status.ts";
import { toStorageError } from "./fs_errors.ts";
import {
  type CommitOptions,
  type EntryInfo,
  type PlacedFile,
  type PlacementGuard,
  StorageError,
  type Upload,
} from "./storage.ts";
import { hashFileFromStart } from "../shared/file_hash.ts";
import { claimPartial, isClaimed, releasePartial } from "./partial_claims.ts";

/**
 * Everything {@link LocalUpload.open} needs; {@link LocalStorage} fills it in,
 * and does every filesystem call that names a path (it confines them).
 */
export interface LocalUploadOptions {
  /** The virtual path, used in messages. */
  virtualPath: string;
  /** Identifies the partial file among this process's uploads (one upload per partial). */
  partialKey: string;
  size: number;
  mtimeMs: number;
  /** Continue an existing partial when it is not longer than `size`. */
  resume: boolean;
  /** Call `syncData` before the commit rename. */
  fsync: boolean;
  /** Opens the partial file for reading and writing, creating it empty if missing. */
  openPartial(): Deno.FsFile;
  /** Deletes the partial file; one already gone is fine. */
  removePartial(): void;
  /** Writes the partial's record (what it is for, see partial_record.ts) in one step. */
  writeRecord(): void;
  /** Deletes the partial's record; with `onlyIfOrphan`, only when there is no partial file. */
  removeRecord(onlyIfOrphan: boolean): void;
  /**
   * Checks the target again (confinement, EXISTS) and renames the partial
   * onto it; throws to refuse. Synchronous, so nothing else in this process
   * runs between the checks and the rename. Returns the target's canonical path.
   */
  placePartial(): string;
}

/**
 * The name of the partial file of an upload: the SHA-256 of (path, size,
 * mtime), so a retry of the same transfer finds it and a different one does not.
 *
 * @example
 * ```ts
 * partialFileName("/docs/a.txt", 1024, 1_700_000_000_000); // 64 hex digits
 * ```
 */
export function partialFileName(virtualPath: string, size: number, mtimeMs: number): string {
  return createHash("sha256").update(`${virtualPath}\0${size}\0${mtimeMs}`).digest("hex");
}

/** Whether an upload in this process is writing the partial with `partialKey` now. */
export function uploadInProgress(partialKey: string): boolean {
  return isClaimed(partialKey);
}

/**
 * An {@link Upload} backed by a partial file. Calls to `write` must not
 * overlap. `commit` and `abort` may be called more than once: later calls
 * do nothing (a second `commit` returns the first one's result).
 */
export class LocalUpload implements Upload {
  readonly offset: number;
  readonly #options: LocalUploadOptions;
  readonly #file: Deno.FsFile;
  readonly #hash: Hash;
  #length: number;
  #state: "open" | "broken" | "closed" = "open";
  #fileClosed = false;
  #commitResult: Promise<EntryInfo> | null = null;

  private constructor(options: LocalUploadOptions, file: Deno.FsFile, hash: Hash, offset: number) {
    this.#options = options;
    this.#file = file;
    this.#hash = hash;
    this.offset = offset;
    this.#length = offset;
  }

  /** Opens (creating or resuming) the partial file and seeds the running hash. */
  static async open(options: LocalUploadOptions): Promise<LocalUpload> {
    // Two uploads of one file would share its partial: one at a time (partial_claims.ts).
    if (!(await claimPartial(options.partialKey))) {
      throw new StorageError(
        STATUS.EXISTS,
        `${options.virtualPath}: another upload of this file is in progress`,
      );
    }
    try {
      return await LocalUpload.#open(options);
    } catch (error) {
      releasePartial(options.partialKey);
      throw error;
    }
  }

  static async #open(options: LocalUploadOptions): Promise<LocalUpload> {
    let file: Deno.FsFile;
    try {
      options.writeRecord();
      file = options.openPartial();
    } catch (error) {
      dropQuietly(() => options.removeRecord(true));
      throw toStorageError(error, options.virtualPath);
    }
    try {
      const hash = createHash("sha256");
      const offset = await seedFromPartial(file, hash, options);
      const now = new Date();
      await file.utime(now, now);
      return new LocalUpload(options, file, hash, offset);
    } catch (error) {
      file.close();
      throw toStorageError(error, options.virtualPath);
    }
  }

  /** Appends `chunk`; fails with TOO_LARGE, without writing, past the announced size. */
  async write(chunk: Uint8Array): Promise<void> {
    this.#assertOpen();
    const { size, virtualPath } = this.#options;
    if (this.#length + chunk.length > size) {
      throw new StorageError(
        STATUS.TOO_LARGE,
        `${virtualPath}: more bytes than the announced ${size}`,
      );
    }
    this.#hash.update(chunk);
    try {
      await writeAll(this.#file, chunk);
    } catch (error) {
      this.#state = "broken";
      throw toStorageError(error, virtualPath);
    }
    this.#length += chunk.length;
  }

  /** Verifies length and SHA-256, then syncs and renames the partial into place (through `guard`). */
  async commit(sha256Hex: string, options: CommitOptions = {}): Promise<EntryInfo> {
    if (this.#commitResult) return await this.#commitResult;
    this.#assertOpen();
    const { size, virtualPath } = this.#options;
    if (this.#length !== size) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `${virtualPath}: only ${this.#length} of ${size} bytes arrived`,
      );
    }
    this.#state = "closed";
    this.#commitResult = this.#finishCommit(sha256Hex, options.guard ?? ((place) => place()));
    return await this.#commitResult;
  }

  /** Closes the partial file and, unless `keepPartial`, deletes it. */
  abort(keepPartial: boolean): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    this.#state = "closed";
    try {
      this.#closeFile();
      if (!keepPartial) this.#removePartial();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #finishCommit(sha256Hex: string, guard: PlacementGuard): Promise<EntryInfo> {
    const { virtualPath, fsync } = this.#options;
    if (this.#hash.digest("hex") !== sha256Hex.toLowerCase()) {
      this.#closeFile();
      this.#removePartial();
      throw new StorageError(
        STATUS.CHECKSUM_MISMATCH,
        `${virtualPath}: the bytes received do not match the announced SHA-256`,
      );
    }
    try {
      if (fsync) await this.#file.syncData();
      const placed = await guard(() => this.#place());
      // The file is in place; a record left behind by a crash here is swept like a partial.
      dropQuietly(() => this.#options.removeRecord(false));
      return placed.entry;
    } catch (error) {
      // A refused condition makes the upload moot: nothing will resume it.
      if (error instanceof StorageError && error.code === STATUS.CONFLICT) {
        dropQuietly(() => this.#removePartial());
      }
      throw toStorageError(error, virtualPath);
    } finally {
      this.#closeFile();
    }
  }

  /** Renames the partial onto its name and gives it its mtime; resolves to the file as placed. */
  #place(): Promise<PlacedFile> {
    try {
      const path = this.#options.placePartial();
      // Through the descriptor: the name may already be something else.
      this.#file.utimeSync(new Date(), new Date(this.#options.mtimeMs));
      const info = this.#file.statSync();
      const name = this.#options.virtualPath.slice(this.#options.virtualPath.lastIndexOf("/") + 1);
      const mtimeMs = info.mtime?.getTime() ?? this.#options.mtimeMs;
      return Promise.resolve({ path, entry: { name, kind: "file", size: info.size, mtimeMs } });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Removes the partial file, then its record: a crash in between leaves only a record. */
  #removePartial(): void {
    try {
      this.#options.removePartial();
      this.#options.removeRecord(false);
    } catch (error) {
      throw toStorageError(error, this.#options.virtualPath);
    }
  }

  #assertOpen(): void {
    const { virtualPath } = this.#options;
    if (this.#state === "broken") {
      throw new StorageError(STATUS.IO_ERROR, `${virtualPath}: an earlier write failed`);
    }
    if (this.#state === "closed") {
      throw new StorageError(STATUS.BAD_REQUEST, `${virtualPath}: the upload is already finished`);
    }
  }

  #closeFile(): void {
    if (this.#fileClosed) return;
    this.#fileClosed = true;
    this.#file.close();
    releasePartial(this.#options.partialKey);
  }
}

/** Decides where the upload starts and feeds the bytes already there into `hash`. */
async function seedFromPartial(
  file: Deno.FsFile,
  hash: Hash,
  options: LocalUploadOptions,
): Promise<number> {
  const existing = (await file.stat()).size;
  if (options.resume && existing <= options.size) {
    const hashed = await hashFileFromStart(file, hash);
    if (hashed !== existing) await file.truncate(hashed);
    return hashed;
  }
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  return 0;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await file.write(bytes.subarray(written));
  }
}

/** Runs a clean-up whose failure must not hide the outcome it follows. */
function dropQuietly(cleanUp: () => void): void {
  try {
    cleanUp();
  } catch { /* Swept later, like a stale partial. */ }
}
