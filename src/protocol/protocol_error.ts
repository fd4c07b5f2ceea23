/**
 * A broken frame or a message out of order. The connection that produced it
 * cannot be trusted any further and is closed (PROTOCOL.md §7).
 */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * The peer closed the connection part-way through a frame: a broken frame,
 * but most often a client that was killed or lost its network, so nobody is
 * left to tell.
 */
export class ClosedMidFrame extends ProtocolError {
  constructor() {
    super("connection closed in the middle of a frame");
    this.name = "ClosedMidFrame";
  }
}
