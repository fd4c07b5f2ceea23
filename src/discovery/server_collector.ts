/**
 * Folds the mDNS responses a search receives into a list of DFOS servers:
 * the service type's PTR names an instance, its SRV gives host and port,
 * its TXT the fingerprint and versions, the host's A records the
 * addresses. A record with TTL 0 (a goodbye) takes its server out again.
 * Everything kept is bounded, and text that came from the network is made
 * printable before anyone shows it.
 *
 * @module
 */

// @ts-types="@types/dns-packet"
import type { Answer, Packet, StringAnswer } from "dns-packet";
import { MAX_ADDRESSES_PER_SERVER, MAX_SERVERS, SERVICE_TYPE, TXT_KEYS } from "./constants.ts";
import { instanceOf } from "./names.ts";
import { parseTxt } from "./service_records.ts";

/** One server found on the link. The announcement is a hint: nothing in it is verified. */
export interface DiscoveredServer {
  /** Its instance name (`--name` of the server). */
  name: string;
  /** Its `.local` host name. */
  host: string;
  port: number;
  /** Its IPv4 addresses, the one it answered from first. */
  addresses: string[];
  /** The TLS certificate fingerprint it announces; undefined without TLS (or when malformed). */
  fingerprint?: string;
  /** The protocol version it announces. */
  protocolVersion?: number;
  /** The random id it picked at its start. */
  instanceId?: string;
}

interface Service {
  name: string;
  from: string;
  host?: string;
  port?: number;
  txt?: Map<string, string>;
}

/** Collects responses; {@link servers} lists the complete ones. */
export class ServerCollector {
  #services = new Map<string, Service>();
  #hosts = new Map<string, Set<string>>();

  /** Takes in every record of a response that came from `from`. */
  add(response: Packet, from: string): void {
    if (response.type !== "response") return;
    const records = [...response.answers ?? [], ...response.additionals ?? []];
    // Pointers first, so an SRV in the same packet finds its service.
    for (const record of records) if (record.type === "PTR") this.#pointer(record, from);
    for (const record of records) this.#record(record);
  }

  /** The servers whose SRV and address are known, sorted by name. */
  servers(): DiscoveredServer[] {
    const found: DiscoveredServer[] = [];
    for (const service of this.#services.values()) {
      if (!service.host || !service.port) continue;
      const known = [...this.#hosts.get(service.host.toLowerCase()) ?? []];
      if (known.length === 0) continue;
      const addresses = known.includes(service.from)
        ? [service.from, ...known.filter((address) => address !== service.from)]
        : known;
      found.push({
        name: printable(service.name),
        host: printable(service.host),
        port: service.port,
        addresses,
        ...txtFields(service.txt),
      });
    }
    return found.sort((a, b) => a.name.localeCompare(b.name));
  }

  #pointer(record: StringAnswer, from: string): void {
    if (record.name.toLowerCase() !== SERVICE_TYPE) return;
    const key = record.data.toLowerCase();
    if (record.ttl === 0) {
      this.#services.delete(key);
      return;
    }
    const name = instanceOf(record.data);
    if (!name || this.#services.has(key) || this.#services.size >= MAX_SERVERS) return;
    this.#services.set(key, { name, from });
  }

  #record(record: Answer): void {
    if (record.type === "A") {
      this.#address(record.name.toLowerCase(), record.data, record.ttl ?? 0);
      return;
    }
    const service = this.#services.get(record.name.toLowerCase());
    if (!service) return;
    if (record.type === "SRV") {
      if (record.ttl === 0) this.#services.delete(record.name.toLowerCase());
      service.host = record.data.target;
      service.port = record.data.port;
    } else if (record.type === "TXT") {
      const strings = Array.isArray(record.data) ? record.data : [record.data];
      service.txt = parseTxt(strings.slice(0, 64));
    }
  }

  #address(host: string, address: string, ttl: number): void {
    const addresses = this.#hosts.get(host) ?? new Set<string>();
    if (ttl === 0) {
      addresses.delete(address);
    } else if (addresses.size < MAX_ADDRESSES_PER_SERVER) {
      addresses.add(address);
    }
    if (!this.#hosts.has(host) && this.#hosts.size < MAX_SERVERS * 2) {
      this.#hosts.set(host, addresses);
    }
  }
}

function txtFields(txt: Map<string, string> | undefined): Partial<DiscoveredServer> {
  const fields: Partial<DiscoveredServer> = {};
  const fingerprint = txt?.get(TXT_KEYS.fingerprint);
  if (fingerprint && /^SHA256:[0-9a-f]{64}$/.test(fingerprint)) fields.fingerprint = fingerprint;
  const protocol = Number(txt?.get(TXT_KEYS.protocol));
  if (Number.isSafeInteger(protocol) && protocol > 0) fields.protocolVersion = protocol;
  const id = txt?.get(TXT_KEYS.instanceId);
  if (id && /^[0-9A-Za-z-]{1,64}$/.test(id)) fields.instanceId = id;
  return fields;
}

/** `text` with control characters (terminal escapes) replaced by `?`. */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}
