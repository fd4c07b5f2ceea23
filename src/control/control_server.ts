/**
 * The server's end of the control socket (PROTOCOL.md §13): accepts local
 * connections on a socket only the server's user can open, reads one
 * bounded request line from each and answers it through one table of
 * handlers. `stop` starts the shutdown the way SIGTERM does and keeps its
 * connection until the shutdown has finished.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import {
  CONTROL_TIMEOUT_MS,
  type ControlReply,
  ControlRequestError,
  type ControlRequestName,
  encodeLine,
  MAX_CONTROL_CONNECTIONS,
  MAX_REQUEST_BYTES,
  parseRequest,
} from "./control_protocol.ts";
import { LineChannel, LineChannelError } from "./line_channel.ts";
import { bindControlSocket, type BoundSocket } from "./socket_file.ts";
import type { ServerStatus } from "./status_report.ts";

/** What the requests do on the server's side. */
export interface ControlHandlers {
  /** The status right now. */
  status(): ServerStatus;
  /**
   * Starts the graceful shutdown by the same path as SIGTERM; says whether
   * it was already under way. The shutdown's end is {@link ControlServer.close}.
   */
  stop(): { alreadyStopping: boolean };
  /** The shutdown's grace period, ms (`--shutdown-grace`). */
  readonly graceMs: number;
}

/** What a request handler leaves of its connection: closed, or kept until the end. */
type Afterwards = "close" | "keep";

/** What a request handler works with. */
interface ControlExchange {
  handlers: ControlHandlers;
  /** Writes one reply line. */
  reply(value: ControlReply): Promise<void>;
  /** Keeps the connection until the shutdown's end, then says `stopped`. */
  awaitEnd(): Promise<Afterwards>;
}

/** One handler per request: act, reply, say what becomes of the connection. */
const CONTROL_HANDLERS: Record<
  ControlRequestName,
  (exchange: ControlExchange) => Promise<Afterwards>
> = {
  status: async ({ handlers, reply }) => {
    await reply({ ok: true, status: handlers.status() });
    return "close";
  },
  stop: async ({ handlers, reply, awaitEnd }) => {
    const { alreadyStopping } = handlers.stop();
    await reply({
      ok: true,
      stopping: true,
      pid: Deno.pid,
      graceSeconds: handlers.graceMs / 1000,
      alreadyStopping,
    });
    return awaitEnd();
  },
};

/** Options of {@link ControlServer.open}. */
export interface ControlServerOptions {
  /** Time a peer has to send its request, and to take each reply, ms. Default {@link CONTROL_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** The control socket of a running server. */
export class ControlServer {
  #bound: BoundSocket;
  #open = new Set<LineChannel>();
  /** `stop` requests waiting for the shutdown's end. */
  #waiting = new Set<LineChannel>();
  #serving: Promise<void> | undefined;
  #closed = false;
  #timeoutMs: number;

  private constructor(bound: BoundSocket, options: ControlServerOptions) {
    this.#bound = bound;
    this.#timeoutMs = options.timeoutMs ?? CONTROL_TIMEOUT_MS;
  }

  /**
   * Creates the socket at `path` (see socket_file.ts); connections wait
   * until {@link serve}. Throws `ControlSocketError` saying why it cannot.
   */
  static async open(path: string, options: ControlServerOptions = {}): Promise<ControlServer> {
    return new ControlServer(await bindControlSocket(path), options);
  }

  get path(): string {
    return this.#bound.path;
  }

  /** A socket left by an earlier server that was not stopped cleanly was replaced. */
  get replacedStale(): boolean {
    return this.#bound.replacedStale;
  }

  /** Starts answering requests with `handlers`. */
  serve(handlers: ControlHandlers): void {
    this.#serving ??= this.#accept(handlers);
  }

  /**
   * The end of the shutdown: stops listening, removes the socket, closes
   * request connections, and tells each waiting `stop` that the shutdown
   * has finished. Their connections stay open, so they end when the process
   * exits, which is what `dfos server stop` waits for ({@link disconnect}
   * closes them sooner).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#bound.close().catch((error) => {
      serverLog.warn("could not remove the control socket {path}: {error}", {
        path: this.path,
        error: String(error),
      });
    });
    await this.#serving;
    for (const channel of this.#open) if (!this.#waiting.has(channel)) channel.close();
    await Promise.allSettled(
      [...this.#waiting].map((channel) => this.#reply(channel, { ok: true, stopped: true })),
    );
  }

  /** Closes the connections of waiting `stop` requests (after {@link close}). */
  disconnect(): void {
    for (const channel of this.#waiting) {
      channel.close();
      this.#open.delete(channel);
    }
    this.#waiting.clear();
  }

  async #accept(handlers: ControlHandlers): Promise<void> {
    try {
      for await (const conn of this.#bound.listener) {
        if (this.#open.size >= MAX_CONTROL_CONNECTIONS) {
          serverLog.debug("control socket: {open} connections open, closing a new one", {
            open: this.#open.size,
          });
          conn.close();
          continue;
        }
        const channel = new LineChannel(conn, MAX_REQUEST_BYTES);
        this.#open.add(channel);
        this.#serveConnection(channel, handlers);
      }
    } catch (error) {
      if (!this.#closed) {
        serverLog.error("the control socket stopped accepting: {error}", { error: String(error) });
      }
    }
  }

  /** Reads one request and answers it. Never rejects. */
  async #serveConnection(channel: LineChannel, handlers: ControlHandlers): Promise<void> {
    let afterwards: Afterwards = "close";
    const reply = (value: ControlReply) => this.#reply(channel, value);
    try {
      const line = await channel.readLine(this.#timeoutMs);
      if (line === null) return;
      const request = parseRequest(line);
      serverLog.debug("control request: {request}", { request: request.request });
      const awaitEnd = () => this.#awaitEnd(channel);
      afterwards = await CONTROL_HANDLERS[request.request]({ handlers, reply, awaitEnd });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof ControlRequestError || isTooLong(error)) {
        serverLog.debug("control socket: refused a request: {error}", { error: message });
        await reply({ ok: false, error: message }).catch(() => {});
      } else if (error instanceof LineChannelError || isPeerGone(error)) {
        serverLog.debug("control socket: a connection ended: {error}", { error: message });
      } else {
        serverLog.warn("control socket: a request failed: {error}", { error: message });
      }
    } finally {
      if (afterwards === "close") {
        channel.close();
        this.#open.delete(channel);
      }
    }
  }

  /** Holds a `stop` request's connection until {@link close}; after it, answers at once. */
  async #awaitEnd(channel: LineChannel): Promise<Afterwards> {
    if (!this.#closed) {
      this.#waiting.add(channel);
      return "keep";
    }
    await this.#reply(channel, { ok: true, stopped: true }).catch(() => {});
    return "close";
  }

  #reply(channel: LineChannel, value: ControlReply): Promise<void> {
    return channel.write(encodeLine(value), this.#timeoutMs);
  }
}

function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset;
}

function isTooLong(error: unknown): boolean {
  return error instanceof LineChannelError && error.reason === "too-long";
}
