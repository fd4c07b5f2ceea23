/**
 * The client's `--host` value as ssh and curl users write it: a name or
 * address, optionally with its port (`10.0.0.5:4000`, `[2001:db8::1]:4000`),
 * or a bare IPv6 address (`::1`).
 *
 * @module
 */

import { isIpv6Text } from "../shared/ipv6_text.ts";
import { UsageError } from "../client/errors.ts";

/** Where the client connects: a host (IPv6 without brackets) and a port. */
export interface ServerAddress {
  host: string;
  port: number;
}

/**
 * Splits `given` into host and port. Accepted: `HOST`, `HOST:PORT`,
 * `[IPV6]`, `[IPV6]:PORT`, and an IPv6 address without brackets (two or
 * more colons: it carries no port; a value with two or more colons that is
 * no IPv6 address, such as `::1:41517`, is refused rather than looked up). The port comes from `given`, else
 * `explicitPort` (a `--port` the user typed), else `defaultPort`. A port in
 * both places that differs is a {@link UsageError}, as is a malformed value.
 *
 * @example
 * ```ts
 * parseServerAddress("127.0.0.1:41517", undefined, 33000); // { host: "127.0.0.1", port: 41517 }
 * parseServerAddress("[::1]:4000", undefined, 33000); // { host: "::1", port: 4000 }
 * parseServerAddress("::1", 4000, 33000); // { host: "::1", port: 4000 }
 * ```
 */
export function parseServerAddress(
  given: string,
  explicitPort: number | undefined,
  defaultPort: number,
): ServerAddress {
  const { host, port } = splitHostPort(given);
  if (host === "") throw new UsageError(`--host ${given}: no host name or address`);
  if (port === undefined) return { host, port: explicitPort ?? defaultPort };
  const number = parsePort(given, port);
  if (explicitPort !== undefined && explicitPort !== number) {
    throw new UsageError(
      `--host ${given} names port ${number} but --port says ${explicitPort}: give the port once`,
    );
  }
  return { host, port: number };
}

function splitHostPort(given: string): { host: string; port?: string } {
  if (given.startsWith("[")) {
    const match = given.match(/^\[([^\]]*)\](?::(.*))?$/);
    if (!match) {
      throw new UsageError(`--host ${given}: write an IPv6 address as [ADDRESS] or [ADDRESS]:PORT`);
    }
    if (match[1] !== "" && !isIpv6Text(match[1])) {
      throw new UsageError(`--host ${given}: brackets are for an IPv6 address; write HOST:PORT`);
    }
    return { host: match[1], port: match[2] };
  }
  const colons = given.split(":").length - 1;
  if (colons === 0) return { host: given };
  if (colons > 1) {
    // No name holds two colons: an IPv6 address, which carries no port without brackets.
    if (isIpv6Text(given)) return { host: given };
    throw new UsageError(
      `--host ${given}: not an IPv6 address; with a port, write [ADDRESS]:PORT or use --port`,
    );
  }
  const [host, port] = given.split(":");
  return { host, port };
}

function parsePort(given: string, text: string): number {
  const number = Number(text);
  if (!/^\d{1,5}$/.test(text) || number < 1 || number > 65535) {
    throw new UsageError(`--host ${given}: "${text}" is not a port (1 to 65535)`);
  }
  return number;
}
