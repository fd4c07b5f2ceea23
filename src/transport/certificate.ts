/**
 * Server certificates: fingerprints, PEM/DER conversion, and the fixed name
 * of self-signed DFOS certificates. Creating certificates is in
 * certificate_x509.ts, loaded only when needed.
 *
 * A self-signed DFOS certificate names the fixed host {@link SERVER_CERT_NAME}:
 * a client that pins the certificate verifies that name, independent of the
 * address it typed (which may be an IP, or change with the network).
 *
 * @module
 */

import { createHash, X509Certificate } from "node:crypto";
import { encodeBase64 } from "./base64.ts";

/** The DNS name inside every self-signed DFOS server certificate. */
export const SERVER_CERT_NAME = "dfos-server.invalid";

/** "SHA256:<64 hex digits>" of a DER certificate: what users compare and pin. */
export function fingerprint(der: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(der).digest("hex")}`;
}

/** The DER bytes of the first certificate in a PEM text. */
export function pemToDer(pem: string): Uint8Array {
  const match = pem.match(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/);
  if (!match) throw new Error("no certificate found in PEM text");
  return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (char) => char.charCodeAt(0));
}

/** PEM text of a DER certificate. */
export function derToPem(der: Uint8Array): string {
  const lines = encodeBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Normalises user input like "sha256:AB…" or "SHA256:ab…" to "SHA256:<lowercase hex>". */
export function parseFingerprint(text: string): string {
  const match = text.trim().match(/^sha256:([0-9a-f]{64})$/i);
  if (!match) throw new Error(`"${text}" is not a fingerprint of the form SHA256:<64 hex digits>`);
  return `SHA256:${match[1].toLowerCase()}`;
}

/**
 * DNS names a certificate is valid for (its subjectAltName entries), in
 * their order. Names the runtime prints quoted (with characters no host
 * name has) are left out.
 */
export function certificateNames(der: Uint8Array): string[] {
  const names = new X509Certificate(der).subjectAltName ?? "";
  return names.split(", ").flatMap((entry) => {
    const match = entry.match(/^DNS:([A-Za-z0-9.*_-]+)$/);
    return match ? [match[1]] : [];
  });
}
