/**
 * Searching the local link for DFOS servers (`dfos discover`, and the
 * client's list to pick from): a PTR query for `_dfos._tcp.local` on every
 * multicast-capable interface, asked again after a second (a lost packet
 * is normal on Wi-Fi), answers collected until the time is up.
 *
 * @module
 */

import { SERVICE_TYPE } from "./constants.ts";
import { DiscoveryError, discoveryErrorFrom } from "./discovery_error.ts";
import { type LinkInterface, multicastInterfaces } from "./interfaces.ts";
import { MdnsSocket } from "./mdns_socket.ts";
import { type DiscoveredServer, ServerCollector } from "./server_collector.ts";

/** Options of {@link searchServers}. */
export interface SearchOptions {
  /** How long to collect answers, ms. Default 2000. */
  timeoutMs?: number;
  /** The interfaces to search on. Default: every multicast-capable IPv4 interface. */
  links?: LinkInterface[];
}

/** Delay before the query is sent again, ms. */
const REPEAT_AFTER_MS = 1_000;

/**
 * The servers that answered within the time. Rejects with a DiscoveryError
 * when no interface can be searched (none there, port 5353 held, no route).
 */
export async function searchServers(options: SearchOptions = {}): Promise<DiscoveredServer[]> {
  const links = options.links ?? multicastInterfaces();
  if (links.length === 0) {
    throw new DiscoveryError("no network interface that can do multicast to search on");
  }
  const collector = new ServerCollector();
  const sockets: MdnsSocket[] = [];
  try {
    for (const link of links) {
      sockets.push(
        await MdnsSocket.open(link, (packet, from) => collector.add(packet, from.address)),
      );
    }
    const query = {
      type: "query" as const,
      questions: [{ name: SERVICE_TYPE, type: "PTR" as const }],
    };
    const ask = () => Promise.all(sockets.map((socket) => socket.send(query)));
    await ask();
    const timeoutMs = options.timeoutMs ?? 2_000;
    await new Promise<void>((resolve) => {
      const repeat = timeoutMs > 2 * REPEAT_AFTER_MS
        ? setTimeout(() => ask().catch(() => {}), REPEAT_AFTER_MS)
        : undefined;
      setTimeout(() => {
        clearTimeout(repeat);
        resolve();
      }, timeoutMs);
    });
    return collector.servers();
  } catch (error) {
    throw discoveryErrorFrom(error, "cannot search for servers");
  } finally {
    sockets.forEach((socket) => socket.close());
  }
}
