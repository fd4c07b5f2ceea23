/**
 * The network interfaces discovery uses: IPv4 interfaces that can do
 * multicast, never loopback. A server listening on every address
 * (`0.0.0.0`) announces on all of them; one listening on a single address
 * only on the interface that holds it.
 *
 * @module
 */

import { DiscoveryError } from "./discovery_error.ts";

/** One interface address discovery sends and listens on. */
export interface LinkInterface {
  /** The interface name, e.g. `eth0`. */
  name: string;
  /** Its IPv4 address. */
  address: string;
  /** Prefix length of its subnet. */
  prefixLength: number;
}

/** IFF_MULTICAST in /sys/class/net/NAME/flags (Linux). */
const IFF_MULTICAST = 0x1000;

/** Every multicast-capable, non-loopback IPv4 interface address (the first per interface). */
export function multicastInterfaces(): LinkInterface[] {
  const found = new Map<string, LinkInterface>();
  for (const entry of Deno.networkInterfaces()) {
    if (entry.family !== "IPv4" || entry.address.startsWith("127.")) continue;
    if (found.has(entry.name) || !canMulticast(entry.name)) continue;
    const prefixLength = Number(entry.cidr.split("/")[1] ?? 32);
    found.set(entry.name, { name: entry.name, address: entry.address, prefixLength });
  }
  return [...found.values()];
}

/**
 * The interfaces a server listening on `host` announces on. Throws a
 * {@link DiscoveryError} when there is none (loopback, IPv6 only, no
 * multicast-capable interface).
 */
export function interfacesForListenAddress(host: string): LinkInterface[] {
  const all = multicastInterfaces();
  if (host === "0.0.0.0" || host === "::" || host === "") {
    if (all.length === 0) throw new DiscoveryError("no network interface that can do multicast");
    return all;
  }
  if (host.startsWith("127.") || host === "::1") {
    throw new DiscoveryError(
      `the server listens on ${host} (loopback), which other machines cannot reach`,
    );
  }
  const chosen = all.filter((link) => link.address === host);
  if (chosen.length === 0) {
    throw new DiscoveryError(
      `no multicast-capable IPv4 interface holds ${host} (discovery uses IPv4 multicast)`,
    );
  }
  return chosen;
}

/** True when `address` (IPv4) is on the subnet of `link`: the sender is on the same link. */
export function onLink(link: LinkInterface, address: string): boolean {
  const ours = ipv4Number(link.address);
  const theirs = ipv4Number(address);
  if (ours === undefined || theirs === undefined) return false;
  const mask = link.prefixLength === 0 ? 0 : (~0 << (32 - link.prefixLength)) >>> 0;
  return ((ours & mask) >>> 0) === ((theirs & mask) >>> 0);
}

function ipv4Number(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && +part < 256)) {
    return undefined;
  }
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

function canMulticast(name: string): boolean {
  try {
    return (Number(Deno.readTextFileSync(`/sys/class/net/${name}/flags`).trim()) &
      IFF_MULTICAST) !== 0;
  } catch {
    return true; // No sysfs (not Linux): the system will refuse what it cannot do.
  }
}
