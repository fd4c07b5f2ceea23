/**
 * Status codes carried by `Error` replies (PROTOCOL.md §6). The numbers are
 * part of the wire protocol: never renumber, only append.
 *
 * @module
 */

/** Stable numeric status codes, by name. */
export const STATUS = {
  /** The path does not exist. */
  NOT_FOUND: 1,
  /** The target name already exists (upload without overwrite, mkdir, rename). */
  EXISTS: 2,
  /** A path component that must be a directory is not one. */
  NOT_A_DIRECTORY: 3,
  /** The operation needs a file but the path is a directory. */
  IS_A_DIRECTORY: 4,
  /** rmdir of a directory that still has entries. */
  NOT_EMPTY: 5,
  /** The path leaves the user's root, is reserved, or the OS refused access. */
  PERMISSION_DENIED: 6,
  /**
   * The path is malformed: NUL or control characters, backslash, a component
   * over 255 bytes, over 3072 bytes once resolved, or too long for the server's filesystem.
   */
  INVALID_PATH: 7,
  /** The bytes received do not match the SHA-256 the sender announced. */
  CHECKSUM_MISMATCH: 8,
  /** Unknown user or wrong password. */
  AUTH_FAILED: 9,
  /** The user already has the maximum number of open sessions. */
  SESSION_LIMIT: 10,
  /** Every slot and every queue place is taken, or a login would wait too long for its password check. */
  SERVER_BUSY: 11,
  /** A malformed or unexpected frame; the connection is closed after this reply. */
  PROTOCOL_ERROR: 12,
  /** The client speaks a protocol version the server does not. */
  UNSUPPORTED_VERSION: 13,
  /** The user's storage quota would be exceeded. */
  QUOTA_EXCEEDED: 14,
  /** The server's disk is full. */
  NO_SPACE: 15,
  /** Any other failure reading or writing storage. */
  IO_ERROR: 16,
  /** The server is shutting down and takes no new work. */
  SHUTTING_DOWN: 17,
  /** The request was cancelled by the client. */
  CANCELLED: 18,
  /** More bytes than announced, or more than the server's limit for one file. */
  TOO_LARGE: 19,
  /** A request's arguments are out of range or inconsistent. */
  BAD_REQUEST: 20,
  /** A deadline passed: handshake or login too slow, or the session idle too long. */
  TIMEOUT: 21,
  /** A conditional request found its path no longer in the state it expected; nothing changed. */
  CONFLICT: 22,
  /** A `Changes` cursor names another journal, or changes older than the server keeps: list again. */
  CURSOR_EXPIRED: 23,
} as const;

/** Name of a status, e.g. `"NOT_FOUND"`. */
export type StatusName = keyof typeof STATUS;
/** Numeric value of a status. */
export type StatusCode = (typeof STATUS)[StatusName];

const NAMES = new Map<number, StatusName>(
  Object.entries(STATUS).map(([name, code]) => [code, name as StatusName]),
);

/** The name of a numeric status, or `"UNKNOWN_<n>"` for a code this build does not know. */
export function statusName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN_${code}`;
}

/** Whether `code` is a status this build knows. */
export function isStatusCode(code: number): code is StatusCode {
  return NAMES.has(code);
}
