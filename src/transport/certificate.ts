/**
 * Server certificates: a self-signed ECDSA P-256 certificate made with Web
 * Crypto and @peculiar/x509, fingerprints, and PEM/DER conversion.
 *
 * A self-signed DFOS certificate names the fixed host {@link SERVER_CERT_NAME}:
 * a client that pins the certificate verifies that name, independent of the
 * address it typed (which may be an IP, or change with the network).
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createHash } from "node:crypto";

/** The DNS name inside every self-signed DFOS server certificate. */
export const SERVER_CERT_NAME = "dfos-server.invalid";

/** Validity of a generated certificate (pinned certificates are still checked for expiry). */
const VALIDITY_DAYS = 20 * 365;

/** A certificate and its private key, both PEM. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

/** Creates a key pair and a self-signed certificate for {@link SERVER_CERT_NAME}. */
export async function createSelfSignedCertificate(
  commonName = "DFOS server",
): Promise<CertifiedKey> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const serial = Array.from(crypto.getRandomValues(new Uint8Array(16)), hex).join("");
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${serial}`,
    name: `CN=${commonName}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + VALIDITY_DAYS * 86400_000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: SERVER_CERT_NAME }]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: certificate.toString("pem"),
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
  };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

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
  return new x509.X509Certificate(new Uint8Array(der)).toString("pem") + "\n";
}

/** DNS names a certificate is valid for (its subjectAltName entries). */
export function certificateNames(der: Uint8Array): string[] {
  const certificate = new x509.X509Certificate(new Uint8Array(der));
  const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return names.filter((name) => name.type === "dns").map((name) => name.value);
}

/** Normalises user input like "sha256:AB…" or "SHA256:ab…" to "SHA256:<lowercase hex>". */
export function parseFingerprint(text: string): string {
  const match = text.trim().match(/^sha256:([0-9a-f]{64})$/i);
  if (!match) throw new Error(`"${text}" is not a fingerprint of the form SHA256:<64 hex digits>`);
  return `SHA256:${match[1].toLowerCase()}`;
}
