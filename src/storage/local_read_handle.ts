/**
 * Reading a local file at any position, for {@link LocalStorage.openRead}.
 *
 * @module
 */

import { read, readSync } from "node:fs";
import { InlineIo } from "../shared/inline_io.ts";
import { closeFd } from "./descriptor_paths.ts";
import { toStorageError } from "./fs_errors.ts";
import type { ReadHandle } from "./storage.ts";

/** Reads run inline on a device that serves them at once (the page cache, tmpfs): inline_io.ts. */
const reads = new InlineIo();

/**
 * A {@link ReadHandle} over an open descriptor (from `node:fs`, which can
 * open without blocking on a FIFO); each read says its position (`pread`).
 *
 * @example
 * ```ts
 * const fd = openFileFd(realPath);
 * const handle = new LocalReadHandle(fd, "/docs/a.txt", statFd(fd));
 * const count = await handle.read(new Uint8Array(65536), 0);
 * handle.close();
 * ```
 */
export class LocalReadHandle implements ReadHandle {
  readonly size: number;
  readonly mtimeMs: number;
  readonly #fd: number;
  readonly #device: number;
  readonly #virtualPath: string;
  #closed = false;

  /** Takes ownership of descriptor `fd`; `info` is its stat, taken after opening. */
  constructor(fd: number, virtualPath: string, info: Deno.FileInfo) {
    this.#fd = fd;
    this.#device = info.dev;
    this.#virtualPath = virtualPath;
    this.size = info.size;
    this.mtimeMs = info.mtime?.getTime() ?? 0;
  }

  /** Reads into `buffer` at `position`; resolves to bytes read, or null at end of file. */
  async read(buffer: Uint8Array, position: number): Promise<number | null> {
    if (this.#closed) throw toStorageError(new Deno.errors.BadResource(), this.#virtualPath);
    let count: number;
    try {
      count = await reads.run(
        this.#device,
        () => readSync(this.#fd, buffer, 0, buffer.length, position),
        () => this.#readDeferred(buffer, position),
      );
    } catch (error) {
      throw toStorageError(error, this.#virtualPath);
    }
    return count === 0 && buffer.length > 0 ? null : count;
  }

  #readDeferred(buffer: Uint8Array, position: number): Promise<number> {
    return new Promise((resolve, reject) => {
      read(this.#fd, buffer, 0, buffer.length, position, (error, count) => {
        if (error) reject(error);
        else resolve(count);
      });
    });
  }

  /** Closes the file; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFd(this.#fd);
  }
}
