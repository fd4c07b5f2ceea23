/**
 * `dfos server --discoverable`: announces a running server under its
 * `--name` (default: the host name) and logs where. A failure to announce
 * is a warning in the log, never a reason to stop serving: the server works
 * without it, clients then give `--host`.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import { PROTOCOL_VERSION } from "../protocol/constants.ts";
import { type Announcement, startAnnouncing } from "./announcer.ts";
import { checkInstanceName, hostLabel } from "./names.ts";

/** What of the running server is announced. */
export interface AnnouncedServer {
  /** The address it is bound to (`0.0.0.0`: every interface). */
  hostname: string;
  port: number;
  /** "SHA256:<hex>", or undefined without TLS. */
  fingerprint: string | undefined;
}

/** Starts the announcement; undefined (and a warning logged) when it cannot be made. */
export async function announceServer(
  server: AnnouncedServer,
  name: string | undefined,
): Promise<Announcement | undefined> {
  const hostname = systemHostName();
  let instance: string;
  try {
    instance = checkInstanceName(name ?? hostname.split(".")[0]);
  } catch {
    instance = hostLabel(hostname);
  }
  try {
    const announcement = await startAnnouncing({
      listenHost: server.hostname,
      advert: {
        instance,
        host: `${hostLabel(hostname)}.local`,
        port: server.port,
        protocolVersion: PROTOCOL_VERSION,
        fingerprint: server.fingerprint,
        instanceId: crypto.randomUUID(),
      },
      onError: (error) => serverLog.warn("discovery: {error}", { error: error.message }),
    });
    serverLog.info("announcing {name} on the local network ({links}) as _dfos._tcp", {
      name: instance,
      links: announcement.links.map((link) => `${link.name} ${link.address}`).join(", "),
    });
    return announcement;
  } catch (error) {
    serverLog.warn("not discoverable: {error}; clients must be given --host", {
      error: (error as Error).message,
    });
    return undefined;
  }
}

function systemHostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "dfos-server";
  }
}
