/**
 * Reading a local file at any position, for {@link LocalStorage.openRead}.
 *
 * @module
 */

import { toStorageError } from "./fs_errors.ts";
import type { ReadHandle } from "./storage.ts";

/**
 * A {@link ReadHandle} over an open file. It remembers the file position
 * and seeks only when a read is not sequential.
 *
 * @example
 * ```ts
 * const file = await Deno.open(realPath);
 * const handle = new LocalReadHandle(file, "/docs/a.txt", await file.stat());
 * const count = await handle.read(new Uint8Array(65536), 0);
 * handle.close();
 * ```
 */
export class LocalReadHandle implements ReadHandle {
  readonly size: number;
  readonly mtimeMs: number;
  readonly #file: Deno.FsFile;
  readonly #virtualPath: string;
  /** Current file position; -1 when unknown after a failure. */
  #position = 0;
  #closed = false;

  /** Takes ownership of `file`; `info` is its stat, taken after opening. */
  constructor(file: Deno.FsFile, virtualPath: string, info: Deno.FileInfo) {
    this.#file = file;
    this.#virtualPath = virtualPath;
    this.size = info.size;
    this.mtimeMs = info.mtime?.getTime() ?? 0;
  }

  /** Reads into `buffer` at `position`; resolves to bytes read, or null at end of file. */
  async read(buffer: Uint8Array, position: number): Promise<number | null> {
    try {
      if (position !== this.#position) {
        this.#position = -1;
        this.#position = await this.#file.seek(position, Deno.SeekMode.Start);
      }
      const count = await this.#file.read(buffer);
      if (count !== null) this.#position += count;
      return count;
    } catch (error) {
      this.#position = -1;
      throw toStorageError(error, this.#virtualPath);
    }
  }

  /** Closes the file; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}
