/**
 * One file up or down. Both directions are resumable and verified end to
 * end by SHA-256; the receiving side only ever shows a complete file under
 * the real name.
 *
 * A download writes to `.<name>.dfos-part` beside the target, with the
 * remote size and mtime in `.<name>.dfos-part.json`; running the same `get`
 * again continues it. Both stay private (0o600); the file gets its mode
 * when it takes its real name. An upload's partial lives on the server.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import type { ClientConnection } from "./connection.ts";
import type { RemoteExpectation } from "./remote_fs.ts";
import { RemoteError } from "./errors.ts";
import type { Progress } from "./progress.ts";
import type { RateLimiter } from "../shared/rate_limiter.ts";
import { downloadOnce } from "./file_download.ts";
import { uploadOnce } from "./file_upload.ts";

export { partialPathFor, readRemote } from "./file_download.ts";

/** Options of {@link downloadFile} and {@link uploadFile}. */
export interface FileTransferOptions {
  /** Replace an existing target. Default false: fails with "already exists". */
  force?: boolean;
  /** Continue an earlier interrupted attempt. Default true. */
  resume?: boolean;
  progress: Progress;
  /** Told where the transfer starts when it continues earlier bytes. */
  onResume?: (offset: number) => void;
  /** Paces the bytes moved (shared by every file of one command). */
  limiter?: RateLimiter;
  /**
   * Cancels the transfer (Ctrl-C): it stops, the server is sent `Cancel`, the
   * partial stays for a resume, and the transfer rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /**
   * Uploads: store the file only if the remote path is still as expected
   * (`WriteIf`/`WriteFileIf`, PROTOCOL.md §5.9.4); `force` is then ignored.
   * A failed condition rejects with CONFLICT and changes nothing.
   */
  expected?: RemoteExpectation;
  /**
   * Downloads: called just before the finished file takes its name; throwing
   * keeps the target as it is (sync re-checks the local file here). The
   * verified partial is then discarded.
   */
  beforeReplace?: () => void;
  /**
   * Permission bits of a downloaded file (`get -p` and `get -r`: the
   * source's). Default: those of the file it replaces, else a new file's
   * (0o666 less the umask). Uploads carry none.
   */
  mode?: number;
}

/** What a transfer did. */
export interface TransferResult {
  bytes: number;
  /** Bytes that were already there from an earlier attempt. */
  resumedFrom: number;
}

/** Downloads `remotePath` to `localPath`; a resumed attempt that fails verification starts over once. */
export function downloadFile(
  connection: ClientConnection,
  remotePath: string,
  localPath: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  return startOverOnMismatch(
    options,
    (attempt) => downloadOnce(connection, remotePath, localPath, attempt),
  );
}

/** Uploads `localPath` to `remotePath`; a resumed attempt that fails verification starts over once. */
export function uploadFile(
  connection: ClientConnection,
  localPath: string,
  remotePath: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  return startOverOnMismatch(
    options,
    (attempt) => uploadOnce(connection, localPath, remotePath, attempt),
  );
}

/**
 * Runs `transfer`; if it resumed from earlier bytes and the whole file then
 * failed its SHA-256 check, the source changed without its size or mtime
 * changing: the partial is gone by now, so run it once more from zero.
 */
async function startOverOnMismatch(
  options: FileTransferOptions,
  transfer: (options: FileTransferOptions) => Promise<TransferResult>,
): Promise<TransferResult> {
  const progress = { resumedFrom: 0 };
  try {
    return await transfer({ ...options, onResume: (offset) => progress.resumedFrom = offset });
  } catch (error) {
    const mismatch = error instanceof RemoteError && error.code === STATUS.CHECKSUM_MISMATCH;
    if (!mismatch || progress.resumedFrom === 0 || options.resume === false) throw error;
    options.signal?.throwIfAborted();
    return await transfer({ ...options, resume: false });
  }
}
