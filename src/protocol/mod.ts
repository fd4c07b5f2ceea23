/**
 * The DFOS wire protocol, shared by client and server (see PROTOCOL.md).
 * Re-exports only.
 *
 * @module
 */

export * from "./constants.ts";
export * from "./status.ts";
export * from "./messages.ts";
export * from "./frame_reader.ts";
export * from "./frame_writer.ts";
export * from "./compression.ts";
export { ProtocolError } from "./protocol_error.ts";
