/**
 * Multicast DNS (RFC 6762) and DNS-SD (RFC 6763) numbers DFOS uses to
 * announce servers and find them. Only the link-local IPv4 group is used:
 * packets carry IP TTL 255 (receivers may check that a packet was not
 * routed) and never leave the local link.
 *
 * @module
 */

/** The mDNS IPv4 group and port. */
export const MDNS_GROUP = "224.0.0.251";
export const MDNS_PORT = 5353;

/** IP TTL of every packet sent, as RFC 6762 section 11 asks. */
export const MDNS_IP_TTL = 255;

/** The DNS-SD service type of DFOS servers. */
export const SERVICE_TYPE = "_dfos._tcp.local";

/** The DNS-SD name that lists the service types on the link (RFC 6763 section 9). */
export const SERVICE_TYPES_NAME = "_services._dns-sd._udp.local";

/**
 * Record lifetimes, seconds, as RFC 6762 section 10 recommends: records
 * naming a host (SRV, A) 120 s, the others 75 minutes.
 */
export const HOST_RECORD_TTL = 120;
export const OTHER_RECORD_TTL = 4500;

/** Lifetime cap of answers to a legacy (not port 5353) query, RFC 6762 section 6.7. */
export const LEGACY_ANSWER_TTL = 10;

/** Largest mDNS packet (RFC 6762 section 17); larger ones are dropped unread. */
export const MAX_PACKET_BYTES = 9000;

/** Most records read from one packet (questions and answers together); a packet with more is dropped. */
export const MAX_RECORDS_PER_PACKET = 256;

/** Most servers one search keeps, and addresses kept per server. */
export const MAX_SERVERS = 256;
export const MAX_ADDRESSES_PER_SERVER = 16;

/** Longest instance name, in UTF-8 bytes: one DNS label. */
export const MAX_INSTANCE_NAME_BYTES = 63;

/** Keys of the TXT record (RFC 6763 section 6: short keys, `key=value`). */
export const TXT_KEYS = {
  /** Version of this TXT record's layout. */
  txtVersion: "txtvers",
  /** The DFOS protocol version the server speaks. */
  protocol: "proto",
  /** "SHA256:<hex>" of the server's TLS certificate; absent without TLS. */
  fingerprint: "fp",
  /** A random id the server picks at each start. */
  instanceId: "id",
} as const;
