/**
 * One UDP socket on port 5353 joined to the mDNS group on one interface,
 * over `node:dgram`; packets are encoded and decoded with `dns-packet`.
 *
 * Every socket binds `0.0.0.0:5353` with address sharing (as other mDNS
 * programs on the machine do) and sends through its own interface with IP
 * TTL 255. Since the system hands such a socket the group's packets from
 * every interface, a packet is kept only when its sender is on this
 * interface's subnet (RFC 6762 section 11). A packet over 9000 bytes, one
 * that claims too many records, or one that does not decode, is dropped
 * unread: nothing a peer sends can stop the socket.
 *
 * @module
 */

import dgram from "node:dgram";
import { Buffer } from "node:buffer";
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";
import type { Packet } from "dns-packet";
import {
  MAX_PACKET_BYTES,
  MAX_RECORDS_PER_PACKET,
  MDNS_GROUP,
  MDNS_IP_TTL,
  MDNS_PORT,
} from "./constants.ts";
import { discoveryErrorFrom } from "./discovery_error.ts";
import { type LinkInterface, onLink } from "./interfaces.ts";

/** Where a packet came from, or goes to. */
export interface PacketAddress {
  address: string;
  port: number;
}

/** Receives each packet that passed the checks. */
export type PacketHandler = (packet: Packet, from: PacketAddress, socket: MdnsSocket) => void;

/** The mDNS group: where queries and announcements go. */
export const MULTICAST: PacketAddress = { address: MDNS_GROUP, port: MDNS_PORT };

/** Longest wait for binding the port or for one packet to leave, ms. */
const SOCKET_TIMEOUT_MS = 2_000;

/** An open mDNS socket on one interface. */
export class MdnsSocket {
  readonly link: LinkInterface;
  #socket: dgram.Socket;
  #closed = false;

  private constructor(link: LinkInterface, socket: dgram.Socket) {
    this.link = link;
    this.#socket = socket;
  }

  /**
   * Binds port 5353, joins the group on `link` and passes each accepted
   * packet to `onPacket`. Rejects with a DiscoveryError saying why it cannot.
   */
  static async open(link: LinkInterface, onPacket: PacketHandler): Promise<MdnsSocket> {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    const opened = new MdnsSocket(link, socket);
    try {
      await bound(socket);
      socket.addMembership(MDNS_GROUP, link.address);
      socket.setMulticastInterface(link.address);
      socket.setMulticastTTL(MDNS_IP_TTL);
      socket.setTTL(MDNS_IP_TTL);
      socket.setMulticastLoopback(true); // Programs on this machine see the server too.
    } catch (error) {
      try {
        socket.close();
      } catch { /* Never bound. */ }
      throw discoveryErrorFrom(error, `cannot use interface ${link.name} (${link.address})`);
    }
    socket.on("message", (message, from) => {
      const packet = acceptedPacket(message, from.address, link);
      if (packet) onPacket(packet, { address: from.address, port: from.port }, opened);
    });
    socket.on("error", () => {}); // A failed send is reported by send(); nothing else comes here.
    return opened;
  }

  /** Sends `packet` (to the group unless `to` says otherwise); rejects with a DiscoveryError. */
  send(packet: Packet, to: PacketAddress = MULTICAST): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const bytes = dnsPacket.encode(packet);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("sending timed out")), SOCKET_TIMEOUT_MS);
      this.#socket.send(bytes, to.port, to.address, (error) => {
        clearTimeout(timer);
        error ? reject(error) : resolve();
      });
    }).catch((error) => {
      throw discoveryErrorFrom(error, `cannot send on ${this.link.name} (${this.link.address})`);
    });
  }

  /** Leaves the group and closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.dropMembership(MDNS_GROUP, this.link.address);
    } catch { /* The interface may be gone already. */ }
    this.#socket.close();
  }
}

/** Resolves once the socket is bound to 0.0.0.0:5353; rejects on an error or after the timeout. */
function bound(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("binding timed out")), SOCKET_TIMEOUT_MS);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.bind({ port: MDNS_PORT, address: "0.0.0.0", exclusive: false }, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The decoded packet, or undefined when it is too big, claims too much, does not decode or comes from off the link. */
export function acceptedPacket(
  message: Uint8Array,
  sender: string,
  link: LinkInterface,
): Packet | undefined {
  if (message.length < HEADER_BYTES || message.length > MAX_PACKET_BYTES) return undefined;
  if (!onLink(link, sender)) return undefined;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  let records = 0;
  for (let offset = 4; offset < HEADER_BYTES; offset += 2) records += view.getUint16(offset);
  if (records > MAX_RECORDS_PER_PACKET) return undefined;
  try {
    return dnsPacket.decode(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
  } catch {
    return undefined;
  }
}

/** A DNS header: id, flags and four record counts. */
const HEADER_BYTES = 12;
