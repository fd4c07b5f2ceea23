/**
 * Binding the server's port. Connections are always accepted as plain TCP,
 * so the server holds every socket from accept to close; with TLS on (the
 * default) each is then secured by {@link TlsServerStream}.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import type { ServerConfig } from "./server_config.ts";
import { loadServerIdentity } from "../transport/server_identity.ts";
import type { ServerStream } from "../transport/server_stream.ts";
import { serverTlsContext, TlsServerStream } from "../transport/tls_server_stream.ts";

/** A bound port and how to turn its connections into byte streams. */
export interface BoundPort {
  listener: Deno.Listener<Deno.TcpConn>;
  /** Wraps an accepted connection (TCP_NODELAY set): TLS, or the connection itself. */
  open(conn: Deno.TcpConn): ServerStream;
  /** "SHA256:<hex>" of the TLS certificate, or undefined without TLS. */
  fingerprint: string | undefined;
}

/** Binds the port: TLS unless the configuration says insecure. */
export async function listen(config: ServerConfig): Promise<BoundPort> {
  const address = { hostname: config.host, port: config.port };
  if (config.tls.kind === "insecure") {
    serverLog.warn(
      "TLS is OFF (--insecure-no-tls): passwords and files cross the network in clear",
    );
    return { listener: Deno.listen(address), open: withNoDelay, fingerprint: undefined };
  }
  const identity = await loadServerIdentity(config.tls);
  if (identity.created) serverLog.info("created a new self-signed TLS certificate");
  serverLog.info("TLS certificate fingerprint {fingerprint}", {
    fingerprint: identity.fingerprint,
  });
  const context = serverTlsContext(identity.certPem, identity.keyPem);
  return {
    listener: Deno.listen(address),
    open: (conn) => new TlsServerStream(withNoDelay(conn), context),
    fingerprint: identity.fingerprint,
  };
}

/** Small frames (replies, `Queued`) leave at once instead of waiting for an ACK (Nagle). */
function withNoDelay(conn: Deno.TcpConn): Deno.TcpConn {
  conn.setNoDelay(true);
  return conn;
}
