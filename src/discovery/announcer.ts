/**
 * Announcing a server on the local link (`dfos server --discoverable`):
 * one {@link MdnsSocket} per interface the server listens on, each with the
 * records of that interface's address. At start the records are announced
 * twice, a second apart (RFC 6762 section 8.3); queries are answered as
 * {@link answerQuery} says; at the end a goodbye (every TTL 0) tells caches
 * to forget the server at once.
 *
 * @module
 */

// @ts-types="@types/dns-packet"
import type { Packet } from "dns-packet";
import { MDNS_PORT } from "./constants.ts";
import { discoveryErrorFrom } from "./discovery_error.ts";
import { interfacesForListenAddress, type LinkInterface } from "./interfaces.ts";
import { MdnsSocket, type PacketAddress } from "./mdns_socket.ts";
import { answerQuery, responsePacket } from "./responder.ts";
import {
  allRecords,
  type ServiceAdvert,
  type ServiceRecords,
  serviceRecords,
} from "./service_records.ts";

/** What the server tells {@link startAnnouncing}. */
export interface AnnounceOptions {
  /** The address the server listens on (`0.0.0.0`: every interface). */
  listenHost: string;
  /** The advert, without the host's addresses (each interface adds its own). */
  advert: Omit<ServiceAdvert, "addresses">;
  /** Reports a failure after the start (a send that failed); default: ignore it. */
  onError?: (error: Error) => void;
}

/** A running announcement. */
export interface Announcement {
  /** The interfaces it is announced on. */
  readonly links: readonly LinkInterface[];
  /** Sends the goodbye and closes the sockets. Never rejects. */
  stop(): Promise<void>;
}

/** Gap between the two announcements at start, ms. */
const ANNOUNCE_GAP_MS = 1_000;

/**
 * Starts answering and announcing. Rejects with a DiscoveryError when no
 * interface can be used (none listened on, port 5353 held exclusively).
 */
export async function startAnnouncing(options: AnnounceOptions): Promise<Announcement> {
  const links = interfacesForListenAddress(options.listenHost);
  const report = options.onError ?? (() => {});
  const sockets: MdnsSocket[] = [];
  try {
    for (const link of links) {
      const records = serviceRecords({ ...options.advert, addresses: [link.address] });
      sockets.push(await MdnsSocket.open(link, answerer(records, report)));
    }
  } catch (error) {
    sockets.forEach((socket) => socket.close());
    throw discoveryErrorFrom(error, "cannot announce the server");
  }
  const announce = (ttlScale: 0 | 1) =>
    Promise.all(sockets.map((socket) => {
      const records = serviceRecords(
        { ...options.advert, addresses: [socket.link.address] },
        ttlScale,
      );
      return socket.send(responsePacket({ answers: allRecords(records), additionals: [] }))
        .catch(report);
    }));
  await announce(1);
  const again = setTimeout(() => announce(1), ANNOUNCE_GAP_MS);
  let stopped: Promise<void> | undefined;
  return {
    links,
    stop() {
      stopped ??= (async () => {
        clearTimeout(again);
        await announce(0);
        sockets.forEach((socket) => socket.close());
      })();
      return stopped;
    },
  };
}

/** Answers each query on a socket from `records`: by multicast, or by unicast to a legacy querier. */
function answerer(records: ServiceRecords, report: (error: Error) => void) {
  return (query: Packet, from: PacketAddress, socket: MdnsSocket) => {
    if (query.type !== "query") return;
    const found = answerQuery(query, records);
    if (!found) return;
    const legacy = from.port !== MDNS_PORT;
    socket.send(responsePacket(found, legacy ? query : undefined), legacy ? from : undefined)
      .catch(report);
  };
}
