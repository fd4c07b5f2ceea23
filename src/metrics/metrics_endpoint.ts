/**
 * The HTTP endpoint that serves metrics: `GET /metrics` (the text
 * exposition format) and `GET /healthz` (200 while serving, 503 while
 * shutting down), nothing else. A small HTTP/1.1 server of its own rather
 * than `Deno.serve`, which has no deadline for a request's head (a peer
 * sending one byte a minute holds its connection for ever): here every
 * connection carries one request, whose head has at most
 * {@link MAX_REQUEST_HEAD_BYTES} and, with the reply, at most
 * {@link CONNECTION_DEADLINE_MS}; at most {@link MAX_METRICS_CONNECTIONS}
 * are open at once.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import { writeAll } from "../protocol/frame_writer.ts";
import { acceptConnections } from "../server/accept_loop.ts";
import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";
import {
  HttpRequestError,
  parseRequestHead,
  readRequestHead,
  type RequestHead,
} from "./http_request.ts";
import type { MetricsAddress } from "./metrics_address.ts";

/** Bytes a request head may have (a scrape's is about 300). */
export const MAX_REQUEST_HEAD_BYTES = 8 * 1024;
/** How long a connection may take to send its request and read the reply, ms. */
export const CONNECTION_DEADLINE_MS = 10_000;
/** Connections served at once; more are closed at once. */
export const MAX_METRICS_CONNECTIONS = 16;

/** What the endpoint serves. */
export interface EndpointContent {
  /** The text of every metric now. */
  render(): Promise<string>;
}

/** Limits of a {@link MetricsEndpoint}; the defaults are the constants above. */
export interface EndpointLimits {
  /** Default {@link MAX_REQUEST_HEAD_BYTES}. */
  maxHeadBytes?: number;
  /** Default {@link CONNECTION_DEADLINE_MS}. */
  deadlineMs?: number;
  /** Default {@link MAX_METRICS_CONNECTIONS}. */
  maxConnections?: number;
}

interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const ROUTES = new Set(["/metrics", "/healthz"]);

/**
 * A listening metrics endpoint. {@link shuttingDown} turns `/healthz` to
 * 503; {@link close} stops it.
 *
 * @example
 * ```ts
 * const endpoint = MetricsEndpoint.open({ hostname: "127.0.0.1", port: 0 }, { render: async () => "" });
 * console.log(endpoint.address.port);
 * await endpoint.close();
 * ```
 */
export class MetricsEndpoint {
  readonly address: Deno.NetAddr;
  #listener: Deno.TcpListener;
  #content: EndpointContent;
  #limits: Required<EndpointLimits>;
  #stop = new AbortController();
  #open = new Set<Deno.Conn>();
  #served: Promise<void>;
  #shuttingDown = false;

  private constructor(
    listener: Deno.TcpListener,
    content: EndpointContent,
    limits: EndpointLimits,
  ) {
    this.#listener = listener;
    this.#content = content;
    this.#limits = {
      maxHeadBytes: limits.maxHeadBytes ?? MAX_REQUEST_HEAD_BYTES,
      deadlineMs: limits.deadlineMs ?? CONNECTION_DEADLINE_MS,
      maxConnections: limits.maxConnections ?? MAX_METRICS_CONNECTIONS,
    };
    this.address = listener.addr;
    this.#served = this.#accept();
  }

  /** Binds `address` (throws as `Deno.listen` does, e.g. `AddrInUse`) and starts serving. */
  static open(
    address: MetricsAddress,
    content: EndpointContent,
    limits: EndpointLimits = {},
  ): MetricsEndpoint {
    const listener = Deno.listen({ hostname: address.hostname, port: address.port });
    return new MetricsEndpoint(listener, content, limits);
  }

  /** Connections being served now. */
  get connections(): number {
    return this.#open.size;
  }

  /** From now on `/healthz` answers 503. */
  shuttingDown(): void {
    this.#shuttingDown = true;
  }

  /** Stops accepting, closes open connections; resolves once all have ended. */
  async close(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      this.#listener.close();
    }
    for (const conn of this.#open) closeQuietly(conn);
    await this.#served;
  }

  async #accept(): Promise<void> {
    const connections = new Set<Promise<void>>();
    await acceptConnections(this.#listener, {
      maxConnections: this.#limits.maxConnections,
      signal: this.#stop.signal,
      onConnection: (conn, release) => {
        const served = this.#serve(conn).finally(() => {
          release();
          connections.delete(served);
        });
        connections.add(served);
      },
      reports: {
        failing: (error) =>
          serverLog.error("the metrics endpoint cannot accept connections: {error}; retrying", {
            error: String(error),
          }),
        recovered: () => serverLog.info("the metrics endpoint accepts connections again"),
        refused: (count, open) =>
          serverLog.warn("the metrics endpoint closed {count} new connections: {open} are open", {
            count,
            open,
          }),
      },
    });
    await Promise.allSettled([...connections]);
  }

  /** One request and its reply, within the deadline. */
  async #serve(conn: Deno.Conn): Promise<void> {
    this.#open.add(conn);
    const deadline = setTimeout(() => closeQuietly(conn), this.#limits.deadlineMs);
    try {
      const head = await readRequestHead(conn, this.#limits.maxHeadBytes);
      if (head === null) return;
      const reply = await this.#route(parseRequestHead(head));
      await writeAll(conn, encodeReply(reply));
    } catch (error) {
      if (error instanceof HttpRequestError) {
        const reply = { status: error.status, body: `${error.message}\n` };
        await writeAll(conn, encodeReply(reply)).catch(() => {});
      } // Anything else: the peer left, or the deadline closed it.
    } finally {
      clearTimeout(deadline);
      this.#open.delete(conn);
      closeQuietly(conn);
    }
  }

  async #route(request: RequestHead): Promise<Reply> {
    if (!ROUTES.has(request.path)) return { status: 404, body: "not found\n" };
    if (request.method !== "GET") {
      return { status: 405, body: "only GET\n", headers: { Allow: "GET" } };
    }
    if (request.path === "/healthz") {
      return this.#shuttingDown
        ? { status: 503, body: "shutting down\n" }
        : { status: 200, body: "ok\n" };
    }
    try {
      return {
        status: 200,
        body: await this.#content.render(),
        contentType: EXPOSITION_CONTENT_TYPE,
      };
    } catch (error) {
      serverLog.error("could not collect the metrics: {error}", { error: String(error) });
      return { status: 500, body: "could not collect the metrics (see the server log)\n" };
    }
  }
}

/** The bytes of a reply that ends the connection. */
function encodeReply(reply: Reply): Uint8Array {
  const body = new TextEncoder().encode(reply.body);
  const headers = {
    "Content-Type": reply.contentType ?? "text/plain; charset=utf-8",
    "Content-Length": String(body.length),
    "Cache-Control": "no-store",
    Connection: "close",
    ...reply.headers,
  };
  const head = [
    `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? ""}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(new TextEncoder().encode(head));
  bytes.set(body, head.length);
  return bytes;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
