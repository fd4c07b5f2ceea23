/**
 * The bound on connections between accept and login (`--max-unauthenticated`),
 * shared fairly between source addresses. While there is room every
 * connection comes in. When the stage is full, a newcomer from an address
 * that holds fewer of its places than another takes the place of that
 * other address's oldest connection, which is closed: one peer that keeps
 * the stage full (opening silent connections as fast as it can) then keeps
 * only itself out, where it had kept out everyone. A newcomer from the
 * address that holds the most is refused, as before.
 *
 * Refusals and evictions are logged once per burst: anyone who can reach the
 * port can cause one per connection, as fast as they can connect.
 *
 * An "address" here is an IPv4 address, or an IPv6 /64 (the block a
 * single site or host is given, so one peer cannot claim many parts by
 * sending from many addresses of its own); an IPv4 address mapped into IPv6
 * counts as the IPv4 address. Peers behind one address (a NAT, or a proxy
 * such as HAProxy that hides the client's address) share its part.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import { plural } from "../shared/plural.ts";
import { BurstReports } from "./burst_reports.ts";

/** A connection in the stage: its peer's address (no port) and "address:port", and how to end it. */
export interface GateMember {
  address: string;
  remote: string;
  close(): void;
}

/** One connection refused because the stage was full. */
export interface CrowdedRefusal {
  /** "address:port" of the refused peer. */
  remote: string;
  /** Connections in the stage when it was refused. */
  count: number;
}

/** One connection closed to make room for a peer from an address that held fewer places. */
export interface Eviction {
  /** "address:port" of the connection closed. */
  evicted: string;
  /** Places its address held, that one included. */
  held: number;
  /** "address:port" of the newcomer let in. */
  newcomer: string;
  /** Connections in the stage (the bound). */
  count: number;
}

/** Connections between accept and login, by source address. */
export class UnauthenticatedGate {
  /** Members by address, each set in the order they came in (the oldest first). */
  readonly #byAddress = new Map<string, Set<GateMember>>();
  #count = 0;
  /** Refusals for want of room: the first of a burst at once, then a sum every 10 s. */
  readonly refusals: BurstReports<CrowdedRefusal>;
  /** Connections closed to make room: reported like refusals. */
  readonly evictions: BurstReports<Eviction>;

  constructor() {
    this.refusals = new BurstReports<CrowdedRefusal>({
      first: ({ remote, count }) =>
        serverLog.warn("refusing {remote}: {connections} already logging in, the most allowed", {
          remote,
          count,
          connections: plural(count, "connection is", "connections are"),
        }),
      more: (refused, { count }) =>
        serverLog.warn(
          "refused another {connections}: {count} were already logging in, the most allowed",
          { refused, count, connections: plural(refused, "connection") },
        ),
    });
    this.evictions = new BurstReports<Eviction>({
      first: ({ evicted, held, newcomer, count }) =>
        serverLog.warn(
          "closing {evicted}, not logged in yet, to let {newcomer} in: its address held {held} of the {count} places for connections logging in",
          { evicted, held, newcomer, count },
        ),
      more: (closed, { count }) =>
        serverLog.warn(
          "closed another {connections} not logged in yet, each to let in a peer from an address that held fewer of the {count} places",
          { closed, count, connections: plural(closed, "connection") },
        ),
    });
  }

  /** Connections between accept and login, not counting time in the queue. */
  get count(): number {
    return this.#count;
  }

  /**
   * Lets `member` in if there is room, or if another address holds more
   * places than `member`'s would (that address's oldest connection is then
   * closed and leaves); false (refused, and counted) otherwise.
   */
  enter(member: GateMember, limit: number): boolean {
    if (this.#count >= limit) {
      const group = addressGroup(member.address);
      const crowd = this.#largestOtherThan(group);
      const own = this.#byAddress.get(group)?.size ?? 0;
      if (crowd === undefined || crowd.size <= own + 1) {
        this.refusals.record({ remote: member.remote, count: this.#count });
        return false;
      }
      const oldest: GateMember = crowd.values().next().value!;
      this.evictions.record({
        evicted: oldest.remote,
        held: crowd.size,
        newcomer: member.remote,
        count: this.#count,
      });
      this.leave(oldest);
      oldest.close();
    }
    this.rejoin(member);
    return true;
  }

  /** Counts `member` in without a check (back from the queue, its place kept for it). */
  rejoin(member: GateMember): void {
    const group = addressGroup(member.address);
    let members = this.#byAddress.get(group);
    if (members === undefined) {
      members = new Set();
      this.#byAddress.set(group, members);
    }
    if (members.has(member)) return;
    members.add(member);
    this.#count++;
  }

  /** Takes `member` out; nothing if it is not in (it left, or was closed to make room). */
  leave(member: GateMember): void {
    const group = addressGroup(member.address);
    const members = this.#byAddress.get(group);
    if (members === undefined || !members.delete(member)) return;
    this.#count--;
    if (members.size === 0) this.#byAddress.delete(group);
  }

  /** Reports what is left unreported and stops the report timers (at shutdown). */
  stop(): void {
    this.refusals.stop();
    this.evictions.stop();
  }

  /** The members of the address with the most of them, other than `address`. */
  #largestOtherThan(address: string): Set<GateMember> | undefined {
    let largest: Set<GateMember> | undefined;
    for (const [other, members] of this.#byAddress) {
      if (other !== address && members.size > (largest?.size ?? 0)) largest = members;
    }
    return largest;
  }
}

/**
 * What the gate shares its places by, for the peer address `address` (as
 * the runtime reports it): an IPv4 address as it is, an IPv6 address as its
 * /64 (`2001:db8:1:2::/64`), an IPv4-mapped IPv6 address as its IPv4 form.
 * Anything else (not an IP address) is its own group.
 */
export function addressGroup(address: string): string {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!bare.includes(":")) return bare;
  const mapped = /^(?:0{0,4}:){0,5}(?:0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped) return mapped[1];
  const halves = bare.split("::");
  if (halves.length > 2) return bare;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return bare;
  const groups = [...head, ...Array(missing).fill("0"), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return bare;
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(":")}::/64`;
}
