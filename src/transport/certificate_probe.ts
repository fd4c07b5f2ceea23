/**
 * Learns which certificate a server presents, without trusting it: the one
 * step of trust-on-first-use that cannot be verified (as with SSH's first
 * connection). Deno's own TLS client always verifies, so this uses
 * node:tls with verification off, only to read the certificate; every
 * connection that carries data is verified against the pinned certificate.
 *
 * @module
 */

import tls from "node:tls";
import { SERVER_CERT_NAME } from "./certificate.ts";

/** Connects, completes a TLS handshake, and resolves to the server's certificate (DER). */
export function fetchServerCertificate(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: host.replace(/^\[|\]$/g, ""),
      port,
      servername: SERVER_CERT_NAME,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    }, () => {
      const certificate = socket.getPeerCertificate(true);
      socket.destroy();
      if (!certificate?.raw) reject(new Error("the server presented no certificate"));
      else resolve(new Uint8Array(certificate.raw));
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no TLS handshake within ${timeoutMs / 1000} s`));
    });
    socket.on("error", (error: Error) => reject(error));
  });
}
