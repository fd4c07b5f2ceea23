/**
 * The one mapping from filesystem errors to protocol status codes. Messages
 * name only the *virtual* path the client used, never where the server keeps
 * its files.
 *
 * @module
 */

import { STATUS, type StatusCode } from "../protocol/status.ts";
import { StorageError } from "./storage.ts";

/** One row of the mapping: which errors it covers, their status and how to say it. */
interface ErrorRule {
  matches(error: Error, osCode: string): boolean;
  status: StatusCode;
  reason: string;
}

/** First match wins; anything unmatched becomes IO_ERROR. */
const ERROR_RULES: readonly ErrorRule[] = [
  {
    matches: (error) => error instanceof Deno.errors.NotFound,
    status: STATUS.NOT_FOUND,
    reason: "no such file or directory",
  },
  {
    matches: (error) => error instanceof Deno.errors.AlreadyExists,
    status: STATUS.EXISTS,
    reason: "already exists",
  },
  {
    matches: (error) => error instanceof Deno.errors.NotADirectory,
    status: STATUS.NOT_A_DIRECTORY,
    reason: "a part of the path is not a directory",
  },
  {
    matches: (error) => error instanceof Deno.errors.IsADirectory,
    status: STATUS.IS_A_DIRECTORY,
    reason: "is a directory",
  },
  {
    matches: (error) => error instanceof Deno.errors.PermissionDenied,
    status: STATUS.PERMISSION_DENIED,
    reason: "the server's filesystem refused access",
  },
  {
    matches: (error, osCode) =>
      osCode === "ENOTEMPTY" || error.message.includes("ENOTEMPTY") ||
      error.message.includes("Directory not empty"),
    status: STATUS.NOT_EMPTY,
    reason: "the directory is not empty",
  },
  {
    matches: (error, osCode) =>
      osCode === "ENAMETOOLONG" || error.message.includes("File name too long"),
    status: STATUS.IO_ERROR,
    reason: "the path is too long for the server's filesystem",
  },
  {
    matches: (error, osCode) => osCode === "ENOSPC" || error.message.includes("No space"),
    status: STATUS.NO_SPACE,
    reason: "the server's disk is full",
  },
  {
    matches: (error, osCode) => osCode === "EDQUOT" || error.message.includes("quota exceeded"),
    status: STATUS.QUOTA_EXCEEDED,
    reason: "the server's disk quota is exhausted",
  },
];

/**
 * Turns anything a filesystem call threw into a {@link StorageError} about
 * `virtualPath`. A `StorageError` passes through unchanged.
 *
 * @example
 * ```ts
 * try {
 *   await Deno.stat(realPath);
 * } catch (error) {
 *   // NOT_FOUND: "/docs/a.txt: no such file or directory"
 *   throw toStorageError(error, "/docs/a.txt");
 * }
 * ```
 */
export function toStorageError(error: unknown, virtualPath: string): StorageError {
  if (error instanceof StorageError) return error;
  if (!(error instanceof Error)) {
    return new StorageError(STATUS.IO_ERROR, `${virtualPath}: storage failed`);
  }
  const osCode = osErrorCode(error);
  const rule = ERROR_RULES.find((candidate) => candidate.matches(error, osCode));
  if (rule) return new StorageError(rule.status, `${virtualPath}: ${rule.reason}`);
  const detail = osCode === "" ? error.name : osCode;
  return new StorageError(STATUS.IO_ERROR, `${virtualPath}: storage failed (${detail})`);
}

/** Whether `error` is a filesystem "not found" (also true for a StorageError NOT_FOUND). */
export function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    (error instanceof StorageError && error.code === STATUS.NOT_FOUND);
}

function osErrorCode(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "";
}
