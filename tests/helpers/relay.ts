/**
 * A TCP relay on loopback between a client and a server, that a test can
 * cut in the middle of a transfer, like a dropped network link.
 *
 * @module
 */

import { pemToDer } from "../../src/transport/certificate.ts";
import { KnownHosts } from "../../src/transport/known_hosts.ts";
import { certificateNames } from "../../src/transport/certificate.ts";
import type { ServerAddress } from "./processes.ts";

/** A running relay. */
export interface Relay extends ServerAddress {
  /** Bytes relayed so far, both directions. */
  bytes(): number;
  /** Connections accepted so far. */
  connections(): number;
  /** Drops every connection at once and stops listening. */
  cut(): void;
}

/** Relays 127.0.0.1:<new port> to `targetPort`; trusts the same certificate as `certPath`. */
export async function startRelay(targetPort: number, certPath: string, knownHosts: string) {
  const { listener, port } = await trustedListener(certPath, knownHosts);
  const open = new Set<Deno.Conn>();
  let relayed = 0;
  let accepted = 0;
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const read = await from.read(buffer);
        if (read === null) break;
        relayed += read;
        for (let offset = 0; offset < read;) {
          offset += await to.write(buffer.subarray(offset, read));
        }
      }
    } catch { /* cut */ }
    for (const conn of [from, to]) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  (async () => {
    try {
      for await (const client of listener) {
        accepted++;
        const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        open.add(client).add(server);
        pump(client, server);
        pump(server, client);
      }
    } catch { /* listener closed */ }
  })();
  const relay: Relay = {
    port,
    knownHosts,
    bytes: () => relayed,
    connections: () => accepted,
    cut() {
      try {
        listener.close();
      } catch { /* already */ }
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* already */ }
      }
    },
  };
  return relay;
}

/**
 * A listener on a free loopback port that `knownHosts` trusts as the server
 * whose certificate is at `certPath`: what a relay in front of it needs.
 */
export async function trustedListener(certPath: string, knownHosts: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const der = pemToDer(await Deno.readTextFile(certPath));
  await (await KnownHosts.load(knownHosts)).add(
    `127.0.0.1:${port}`,
    der,
    certificateNames(der)[0] ?? "127.0.0.1",
  );
  return { listener, port };
}
