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

/** Status code and client-facing message for `error`. */
export function describeError(error: unknown): { code: number; message: string } {
  if (error instanceof StorageError) return { code: error.code, message: fitText(error.message) };
  if (error instanceof DeadlineError) return { code: STATUS.TIMEOUT, message: error.message };
  serverLog.error("unexpected error: {error}", { error: String(error) });
  return { code: STATUS.IO_ERROR, message: "internal server error (see the server log)" };
}

/** Cuts `text` to fit a text field (messages may quote a path of up to 4096 bytes). */
export function fitText(text: string, maxBytes = MAX_TEXT_BYTES): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  let cut = text.slice(0, maxBytes - 3);
  while (encoder.encode(cut).length > maxBytes - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** The `Error` frame replying to request `id` with `error`. */
export function errorFrame(id: number, error: unknown): Uint8Array {
  return encode(Messages.Error, id, describeError(error));
}
