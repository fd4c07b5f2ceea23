/**
 * How a discovered server stands with the client's known-hosts file. Only
 * shown to the user: the fingerprint an announcement carries trusts
 * nothing, connecting checks the certificate itself as always.
 *
 * @module
 */

import { hostAddress, type KnownHosts } from "../transport/known_hosts.ts";
import type { DiscoveredServer } from "./server_collector.ts";

/**
 * - `trusted`: known-hosts holds the announced fingerprint for one of its addresses;
 * - `changed`: it holds another fingerprint for one of them (connecting will be refused
 *   unless the certificate is the remembered one);
 * - `new`: none of its addresses is in known-hosts;
 * - `no-tls`: it announces no fingerprint (it runs without TLS).
 */
export type TrustStatus = "trusted" | "changed" | "new" | "no-tls";

/** The status of `server` in `knownHosts`. */
export function trustStatus(server: DiscoveredServer, knownHosts: KnownHosts): TrustStatus {
  if (!server.fingerprint) return "no-tls";
  const entries = server.addresses.flatMap((address) => {
    const known = knownHosts.find(hostAddress(address, server.port));
    return known ? [known] : [];
  });
  if (entries.some((known) => known.fingerprint === server.fingerprint)) return "trusted";
  return entries.length > 0 ? "changed" : "new";
}

/** What each status means, for a list shown to a person. */
export const TRUST_WORDS: Record<TrustStatus, string> = {
  trusted: "trusted",
  changed: "CHANGED (known-hosts holds another certificate)",
  new: "new",
  "no-tls": "no TLS",
};
