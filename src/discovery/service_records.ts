/**
 * The DNS-SD records that describe one announced server: a PTR from the
 * service type to the instance, the instance's SRV (host and port) and TXT
 * (protocol version, certificate fingerprint, instance id), the host's A
 * records, and the PTR that lists the service type itself.
 *
 * @module
 */

// @ts-types="@types/dns-packet"
import type { Answer, SrvAnswer, StringAnswer, TxtAnswer } from "dns-packet";
import {
  HOST_RECORD_TTL,
  OTHER_RECORD_TTL,
  SERVICE_TYPE,
  SERVICE_TYPES_NAME,
  TXT_KEYS,
} from "./constants.ts";
import { instanceFullName } from "./names.ts";

/** What a server announces about itself. */
export interface ServiceAdvert {
  /** The instance name people see (`--name`). */
  instance: string;
  /** Its `.local` host name, e.g. `build-box.local`. */
  host: string;
  port: number;
  /** IPv4 addresses on the link the records are sent to. */
  addresses: string[];
  protocolVersion: number;
  /** "SHA256:<hex>" of the TLS certificate; undefined without TLS. */
  fingerprint: string | undefined;
  instanceId: string;
}

/** The records of one advert, grouped as queries ask for them. */
export interface ServiceRecords {
  /** `_dfos._tcp.local` PTR `<instance>._dfos._tcp.local`. */
  pointer: StringAnswer;
  /** `_services._dns-sd._udp.local` PTR `_dfos._tcp.local`. */
  typePointer: StringAnswer;
  srv: SrvAnswer;
  txt: TxtAnswer;
  /** A records of the host name. */
  addresses: StringAnswer[];
}

/** The records of `advert`; `ttlScale` 0 makes the goodbye (every TTL 0). */
export function serviceRecords(advert: ServiceAdvert, ttlScale: 0 | 1 = 1): ServiceRecords {
  const name = instanceFullName(advert.instance);
  const other = OTHER_RECORD_TTL * ttlScale;
  const host = HOST_RECORD_TTL * ttlScale;
  return {
    pointer: { name: SERVICE_TYPE, type: "PTR", ttl: other, data: name },
    typePointer: { name: SERVICE_TYPES_NAME, type: "PTR", ttl: other, data: SERVICE_TYPE },
    srv: {
      name,
      type: "SRV",
      ttl: host,
      flush: true,
      data: { port: advert.port, target: advert.host, priority: 0, weight: 0 },
    },
    txt: { name, type: "TXT", ttl: other, flush: true, data: txtStrings(advert) },
    addresses: advert.addresses.map((address) => ({
      name: advert.host,
      type: "A",
      ttl: host,
      flush: true,
      data: address,
    })),
  };
}

/** Every record of `records`, the shared PTRs first. */
export function allRecords(records: ServiceRecords): Answer[] {
  return [records.pointer, records.typePointer, records.srv, records.txt, ...records.addresses];
}

function txtStrings(advert: ServiceAdvert): string[] {
  const pairs: [string, string | undefined][] = [
    [TXT_KEYS.txtVersion, "1"],
    [TXT_KEYS.protocol, String(advert.protocolVersion)],
    [TXT_KEYS.fingerprint, advert.fingerprint],
    [TXT_KEYS.instanceId, advert.instanceId],
  ];
  return pairs.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`);
}

/**
 * The `key=value` pairs of a TXT record's strings (keys lower-cased; the
 * first of a repeated key wins, as RFC 6763 section 6.4 says). Strings that
 * are not valid UTF-8 or carry no key are skipped.
 */
export function parseTxt(strings: readonly (string | Uint8Array)[]): Map<string, string> {
  const pairs = new Map<string, string>();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (const entry of strings) {
    let text: string;
    try {
      text = typeof entry === "string" ? entry : decoder.decode(entry);
    } catch {
      continue;
    }
    const equals = text.indexOf("=");
    const key = (equals < 0 ? text : text.slice(0, equals)).toLowerCase();
    if (key === "" || pairs.has(key)) continue;
    pairs.set(key, equals < 0 ? "" : text.slice(equals + 1));
  }
  return pairs;
}
