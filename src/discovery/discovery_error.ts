/**
 * Why announcing or searching could not be done, in words for the user:
 * no interface to use, the mDNS port held by another program, no route for
 * multicast. Callers print the message; none of these is a crash.
 *
 * @module
 */

import { MDNS_PORT } from "./constants.ts";

/** Discovery could not start or could not send; the message says why. */
export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiscoveryError";
  }
}

/** A socket error as a {@link DiscoveryError} naming the interface it happened on. */
export function discoveryErrorFrom(error: unknown, where: string): DiscoveryError {
  if (error instanceof DiscoveryError) return error;
  const code = (error as { code?: string }).code ?? "";
  const message = error instanceof Error ? error.message : String(error);
  const reason = REASONS[code] ?? message;
  return new DiscoveryError(`${where}: ${reason}`);
}

const REASONS: Record<string, string> = {
  EADDRINUSE:
    `UDP port ${MDNS_PORT} is held by another program that does not share it (another mDNS responder?)`,
  EACCES: `not allowed to use UDP port ${MDNS_PORT}`,
  ENETUNREACH: "no route for multicast on this network",
  EHOSTUNREACH: "no route for multicast on this network",
  EADDRNOTAVAIL: "the interface has no such address (did it go away?)",
  ENODEV: "the interface went away",
  EPERM: "the system refused to send (a firewall?)",
};
