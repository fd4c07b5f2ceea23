/**
 * A TCP relay on loopback that counts round trips: it passes the client's
 * bytes on at once but holds the server's, and lets them through in one
 * burst only once both ends have been quiet for a while, that is once the
 * client can do nothing more without a reply. Each burst is one round trip
 * of a link whose latency dwarfs the work at both ends, so the count does
 * not depend on how fast this machine is.
 *
 * @module
 */

import { pemToDer } from "../../src/transport/certificate.ts";
import { KnownHosts } from "../../src/transport/known_hosts.ts";
import { certificateNames } from "../../src/transport/certificate.ts";
import { writeAll } from "../../src/protocol/frame_writer.ts";
import type { ServerAddress } from "./processes.ts";

/** How long both ends must be quiet before the server's held bytes go through, ms. */
export const QUIET_MS = 150;

/** A running counting relay. */
export interface BurstRelay extends ServerAddress, Disposable {
  /** Bursts of the server's bytes let through so far, all connections together. */
  bursts(): number;
}

/** Relays 127.0.0.1:<new port> to `targetPort`; trusts the same certificate as `certPath`. */
export async function startBurstRelay(
  targetPort: number,
  certPath: string,
  knownHosts: string,
): Promise<BurstRelay> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const der = pemToDer(await Deno.readTextFile(certPath));
  await (await KnownHosts.load(knownHosts)).add(
    `127.0.0.1:${port}`,
    der,
    certificateNames(der)[0] ?? "127.0.0.1",
  );
  let bursts = 0;
  const stops: (() => void)[] = [];
  (async () => {
    try {
      for await (const client of listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        stops.push(relayConnection(client, server, () => bursts++));
      }
    } catch { /* listener closed */ }
  })();
  return {
    port,
    knownHosts,
    bursts: () => bursts,
    [Symbol.dispose]() {
      try {
        listener.close();
      } catch { /* already */ }
      for (const stop of stops) stop();
    },
  };
}

/** Relays one connection, holding the server's bytes; returns what closes it. */
function relayConnection(client: Deno.Conn, server: Deno.Conn, onBurst: () => void): () => void {
  let lastActivity = performance.now();
  let held: Uint8Array[] = [];
  let serverDone = false;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    for (const conn of [client, server]) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  const release = async () => {
    const burst = held;
    held = [];
    if (burst.length > 0) onBurst();
    for (const bytes of burst) await writeAll(client, bytes);
    if (serverDone) close();
  };
  let releasing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    const quiet = performance.now() - lastActivity >= QUIET_MS;
    if (quiet && (held.length > 0 || serverDone)) {
      releasing = releasing.then(release).catch(close);
    }
  }, 10);
  pump(client, (bytes) => {
    lastActivity = performance.now();
    return writeAll(server, bytes);
  }).then(close);
  pump(server, (bytes) => {
    lastActivity = performance.now();
    held.push(bytes.slice());
    return Promise.resolve();
  }).then(() => serverDone = true);
  return close;
}

/** Reads `from` to its end, handing each chunk to `onBytes`. */
async function pump(from: Deno.Conn, onBytes: (bytes: Uint8Array) => Promise<void>) {
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const read = await from.read(buffer);
      if (read === null) break;
      await onBytes(buffer.subarray(0, read));
    }
  } catch { /* closed */ }
}
