/**
 * A TCP relay on loopback that adds latency without limiting bandwidth, for
 * the benchmark's latency workloads (the kernel here has no netem). Every
 * chunk read from one end is written to the other half a round trip later,
 * in order; reading never waits for that write, so the relay adds a delay
 * but no window of its own: a sender is held back only by its own protocol.
 * Both sockets have Nagle's algorithm off, so the relay adds only the
 * configured delay. It connects to 127.0.0.1 only.
 *
 * @example
 * ```ts
 * await using relay = startDelayRelay(sshdPort, { rttMs: 100 });
 * // point the client at 127.0.0.1:relay.port
 * ```
 *
 * @module
 */

import { writeAll } from "../../src/protocol/frame_writer.ts";

const LOOPBACK = "127.0.0.1";
const READ_BYTES = 256 * 1024;

/** Options of {@link startDelayRelay}. */
export interface DelayRelayOptions {
  /** Round-trip time the relay adds, ms: each direction is delayed by half of it. */
  rttMs: number;
  /**
   * Bytes one direction may hold before the relay stops reading from that end.
   * Default 64 MiB, far above what any tool here keeps in flight in 50 ms, so
   * it bounds memory without limiting bandwidth.
   */
  maxQueuedBytes?: number;
}

/** A running delaying relay; disposing it stops listening and drops every connection. */
export interface DelayRelay extends AsyncDisposable {
  /** The relay's port on 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes relayed so far, both directions. */
  bytes(): number;
}

/** Relays 127.0.0.1:<new port> to 127.0.0.1:`targetPort`, adding `options.rttMs`. */
export function startDelayRelay(targetPort: number, options: DelayRelayOptions): DelayRelay {
  const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const delayMs = options.rttMs / 2;
  const maxQueued = options.maxQueuedBytes ?? 64 * 2 ** 20;
  const open = new Set<Deno.Conn>();
  const tally = { connections: 0, bytes: 0 };
  const accepting = (async () => {
    try {
      for await (const client of listener) {
        tally.connections++;
        relayConnection(client, targetPort, { delayMs, maxQueued, open, tally });
      }
    } catch { /* listener closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => tally.connections,
    bytes: () => tally.bytes,
    async [Symbol.asyncDispose]() {
      closeQuietly(listener);
      for (const conn of open) closeQuietly(conn);
      await accepting;
    },
  };
}

interface ConnectionContext {
  delayMs: number;
  maxQueued: number;
  open: Set<Deno.Conn>;
  tally: { connections: number; bytes: number };
}

/** Connects to the target and delays both directions until both have ended. */
async function relayConnection(client: Deno.Conn, targetPort: number, context: ConnectionContext) {
  context.open.add(client);
  let server: Deno.Conn | undefined;
  try {
    server = await Deno.connect({ hostname: LOOPBACK, port: targetPort });
    context.open.add(server);
    for (const conn of [client, server] as Deno.TcpConn[]) conn.setNoDelay(true);
    await Promise.all([delayedPipe(client, server, context), delayedPipe(server, client, context)]);
  } catch { /* one end went away: drop both */ }
  for (const conn of [client, server]) {
    if (!conn) continue;
    closeQuietly(conn);
    context.open.delete(conn);
  }
}

/**
 * Copies `from` to `to`, each chunk written `delayMs` after it was read;
 * half-closes `to` once `from` has ended and everything read was written.
 */
async function delayedPipe(from: Deno.Conn, to: Deno.Conn, context: ConnectionContext) {
  const queue: { due: number; bytes: Uint8Array }[] = [];
  let queued = 0;
  let ended = false;
  let wakeWriter = () => {};
  let wakeReader = () => {};
  const reading = (async () => {
    const buffer = new Uint8Array(READ_BYTES);
    try {
      for (;;) {
        while (queued >= context.maxQueued) await new Promise<void>((go) => wakeReader = go);
        const count = await from.read(buffer);
        if (count === null) break;
        queue.push({ due: performance.now() + context.delayMs, bytes: buffer.slice(0, count) });
        queued += count;
        context.tally.bytes += count;
        wakeWriter();
      }
    } catch { /* reset: pass on what was read, then end */ }
    ended = true;
    wakeWriter();
  })();
  for (;;) {
    const head = queue.shift();
    if (!head) {
      if (ended) break;
      await new Promise<void>((go) => wakeWriter = go);
      continue;
    }
    const wait = head.due - performance.now();
    if (wait > 0) await new Promise((go) => setTimeout(go, wait));
    await writeAll(to, head.bytes);
    queued -= head.bytes.length;
    wakeReader();
  }
  await reading;
  await to.closeWrite().catch(() => {});
}

function closeQuietly(closable: { close(): void }) {
  try {
    closable.close();
  } catch { /* already closed */ }
}
