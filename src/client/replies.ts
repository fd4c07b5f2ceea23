/**
 * Error replies, decoded in one place: every request's reply handling turns
 * an `Error` frame into a {@link RemoteError} through these.
 *
 * @module
 */

import { MESSAGE_TYPE } from "../protocol/constants.ts";
import { decode, type Frame, Messages } from "../protocol/messages.ts";
import { RemoteError } from "./errors.ts";

/** The {@link RemoteError} an `Error` frame carries. */
export function remoteErrorOf(frame: Frame): RemoteError {
  const { code, message } = decode(Messages.Error, frame);
  return new RemoteError(code, message);
}

/** `frame`, unless it is an `Error`: then its {@link RemoteError} is thrown. */
export function throwIfError(frame: Frame): Frame {
  if (frame.type === MESSAGE_TYPE.Error) throw remoteErrorOf(frame);
  return frame;
}
