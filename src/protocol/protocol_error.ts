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
