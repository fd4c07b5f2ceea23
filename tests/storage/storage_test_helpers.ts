/**
 * Small helpers shared by the storage tests: upload and read whole files,
 * and assert a failure's status by name so a wrong code reads clearly.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type StatusName, statusName } from "../../src/protocol/status.ts";
import { type Storage, StorageError, type UploadOptions } from "../../src/storage/storage.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A fixed, ms-precise modification time used by uploads in tests. */
export const TEST_MTIME_MS = 1_600_000_000_123;

/** UTF-8 bytes of `text`. */
export function bytesOf(text: string): Uint8Array {
  return encoder.encode(text);
}

/** SHA-256 of `bytes` as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Uploads `content` to `path` in one chunk and commits it. */
export async function putFile(
  storage: Storage,
  path: string,
  content: string | Uint8Array,
  options: Partial<UploadOptions> = {},
): Promise<void> {
  const bytes = typeof content === "string" ? bytesOf(content) : content;
  const upload = await storage.beginUpload(path, {
    size: bytes.length,
    mtimeMs: TEST_MTIME_MS,
    ...options,
  });
  await upload.write(bytes.subarray(upload.offset));
  await upload.commit(sha256Hex(bytes));
}

/** Reads a whole file through `openRead`, in 64 KiB pieces at explicit positions. */
export async function readFileBytes(storage: Storage, path: string): Promise<Uint8Array> {
  const handle = await storage.openRead(path);
  try {
    const result = new Uint8Array(handle.size);
    let position = 0;
    for (;;) {
      const count = await handle.read(result.subarray(position, position + 65_536), position);
      if (count === null || count === 0) break;
      position += count;
    }
    assert.equal(position, handle.size, "bytes read differ from the reported size");
    return result;
  } finally {
    handle.close();
  }
}

/** Reads a whole file as UTF-8 text. */
export async function readFileText(storage: Storage, path: string): Promise<string> {
  return decoder.decode(await readFileBytes(storage, path));
}

/** Awaits `action` and asserts it fails with a StorageError of status `expected`. */
export async function assertStatus(
  action: Promise<unknown> | (() => Promise<unknown>),
  expected: StatusName,
): Promise<StorageError> {
  try {
    await (typeof action === "function" ? action() : action);
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    assert.equal(statusName(error.code), expected, error.message);
    return error;
  }
  assert.fail(`expected ${expected}, but the operation succeeded`);
}

/** Asserts that nothing exists at `path`. */
export async function assertAbsent(storage: Storage, path: string): Promise<void> {
  await assertStatus(storage.stat(path), "NOT_FOUND");
}
