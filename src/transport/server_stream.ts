/**
 * What the server reads frames from and writes frames to: an accepted TCP
 * connection, plain or with TLS on top ({@link TlsServerStream}).
 *
 * @module
 */

import type { ByteSource } from "../protocol/frame_reader.ts";
import type { ByteSink } from "../protocol/frame_writer.ts";

/** One accepted connection's byte stream. */
export interface ServerStream extends ByteSource, ByteSink {
  /** Closes the connection; the descriptor is released at once or within a short bound. */
  close(): void;
}
