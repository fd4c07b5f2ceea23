/**
 * The one mapping from a thrown error to an `Error` reply. Storage errors
 * carry their own status; anything unexpected becomes IO_ERROR with a
 * generic message (the details go to the server log, not the client).
 *
 * @module
 */

import { MAX_TEXT_BYTES } from "../protocol/constants.ts";
import { encode, Messages } from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import { StorageError } from "../storage/storage.ts";
import { serverLog } from "../log/logging.ts";
import { DeadlineError } from "./deadline.ts";

/**
 * A frame could not be written because the connection is gone: the client
 * left (reset, closed) or the session closed it. An ordinary end, not a fault.
 */
export class ConnectionLost extends Error {
  constructor(readonly reason: unknown) {
    super(`the client left (${reason instanceof Error ? reason.message : String(reason)})`);
    this.name = "ConnectionLost";
  }
}

/** A failed operation as the client hears it (and the audit log records it). */
export interface Failure {
  code: number;
  message: string;
}

/**
 * Status code and client-facing message for `error`. An unexpected error
 * is logged here, so describe each failure once and reply with
 * {@link errorFrame} of that description.
 */
export function describeError(error: unknown): Failure {
  if (error instanceof StorageError) return { code: error.code, message: fitText(error.message) };
  if (error instanceof DeadlineError) return { code: STATUS.TIMEOUT, message: error.message };
  if (error instanceof ConnectionLost) return { code: STATUS.IO_ERROR, message: "client left" };
  if (error instanceof Deno.errors.Interrupted) {
    // An operation whose connection or file was closed under it: the session is ending
    // (the client left, the shutdown's grace period is over). A planned end, not a fault.
    serverLog.debug("operation interrupted: {error}", { error: String(error) });
    return { code: STATUS.IO_ERROR, message: "interrupted: the session ended" };
  }
  serverLog.error("unexpected error: {error}", { error: String(error) });
  return { code: STATUS.IO_ERROR, message: "internal server error (see the server log)" };
}

const encoder = new TextEncoder();

/**
 * Fits `text` into a text field. Messages name a path first and the reason
 * last, so an over-long one loses bytes from its middle, never its cause.
 */
export function fitText(text: string, maxBytes = MAX_TEXT_BYTES): string {
  if (encoder.encode(text).length <= maxBytes) return text;
  const room = Math.floor((maxBytes - 3) / 2);
  const characters = Array.from(text); // Whole code points: no cut through a character.
  const head = fitting(characters, room);
  const tail = fitting(characters.toReversed(), room).toReversed();
  return `${head.join("")}...${tail.join("")}`;
}

/** The longest prefix of `characters` within `maxBytes` of UTF-8. */
function fitting(characters: string[], maxBytes: number): string[] {
  let bytes = 0;
  let count = 0;
  while (count < characters.length) {
    bytes += encoder.encode(characters[count]).length;
    if (bytes > maxBytes) break;
    count++;
  }
  return characters.slice(0, count);
}

/** The `Error` frame replying to request `id` with `failure` (from {@link describeError}). */
export function errorFrame(id: number, failure: Failure): Uint8Array {
  return encode(Messages.Error, id, failure);
}
