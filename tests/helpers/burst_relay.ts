/**
 * A TCP relay on loopback that counts round trips: it passes the client's
 * bytes on at once but holds the server's, and lets them through in one
 * burst only once both ends have been quiet for a while, that is once the
 * client can do nothing more without a reply. A round trip is counted when
 * the client sends again after a burst: a link whose latency dwarfs the work
 * at both ends, so the count does not depend on how fast this machine is,
 * and a pause of the server in the middle of its replies (bursts with no
 * request between them) counts once.
 *
 * @module
 */

import { trustedListener } from "./relay.ts";
import { writeAll } from "../../src/protocol/frame_writer.ts";
import type { ServerAddress } from "./processes.ts";

/** How long both ends must be quiet before the server's held bytes go through, ms. */
export const QUIET_MS = 200;

/** A running counting relay. */
export interface BurstRelay extends ServerAddress, Disposable {
  /** Round trips so far, all connections together: times the client sent again after a burst. */
  roundTrips(): number;
}

/** Relays 127.0.0.1:<new port> to `targetPort`; trusts the same certificate as `certPath`. */
export async function startBurstRelay(
  targetPort: number,
  certPath: string,
  knownHosts: string,
): Promise<BurstRelay> {
  const { listener, port } = await trustedListener(certPath, knownHosts);
  let roundTrips = 0;
  const stops: (() => void)[] = [];
  (async () => {
    try {
      for await (const client of listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        stops.push(relayConnection(client, server, () => roundTrips++));
      }
    } catch { /* listener closed */ }
  })();
  return {
    port,
    knownHosts,
    roundTrips: () => roundTrips,
    [Symbol.dispose]() {
      try {
        listener.close();
      } catch { /* already */ }
      for (const stop of stops) stop();
    },
  };
}

/** Relays one connection, holding the server's bytes; returns what closes it. */
function relayConnection(client: Deno.Conn, server: Deno.Conn, onRoundTrip: () => void) {
  let lastActivity = performance.now();
  let answered = false; // A burst went through since the client last sent.
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
    if (burst.length > 0) answered = true;
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
    if (answered) onRoundTrip();
    answered = false;
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
