/**
 * The address of the metrics endpoint as `--metrics` takes it: `HOST:PORT`,
 * with an IPv6 address in brackets (`[::1]:9464`).
 *
 * @module
 */

/** Where the metrics endpoint listens. */
export interface MetricsAddress {
  /** A name or address; IPv6 without brackets. */
  hostname: string;
  /** A TCP port; 0 picks a free one. */
  port: number;
}

/**
 * Splits `given` into host and port, or throws a `TypeError` saying what is
 * wrong with it.
 *
 * @example
 * ```ts
 * parseMetricsAddress("127.0.0.1:9464"); // { hostname: "127.0.0.1", port: 9464 }
 * parseMetricsAddress("[::1]:9464"); // { hostname: "::1", port: 9464 }
 * ```
 */
export function parseMetricsAddress(given: string): MetricsAddress {
  const match = given.match(/^\[([0-9A-Fa-f:.]+)\]:([^:]*)$/) ??
    given.match(/^([^:\[\]\s/]+):([^:]*)$/);
  if (!match) {
    throw new TypeError(
      given.includes("://")
        ? "expected HOST:PORT without a scheme, e.g. 127.0.0.1:9464"
        : "expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464",
    );
  }
  const [, hostname, port] = match;
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new TypeError(`"${port}" is not a port (0 to 65535)`);
  }
  return { hostname, port: Number(port) };
}

/** `address` as `--metrics` takes it, brackets around an IPv6 address. */
export function formatMetricsAddress(address: MetricsAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}
