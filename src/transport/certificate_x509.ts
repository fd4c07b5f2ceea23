/**
 * The parts of certificate handling that need an X.509 library: creating a
 * self-signed certificate and reading the names in one. Loaded only when
 * needed (a server's first start, a client's first contact), because the
 * library takes a noticeable part of a second to load.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { SERVER_CERT_NAME } from "./certificate.ts";

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

/** DNS names a certificate is valid for (its subjectAltName entries). */
export function certificateNames(der: Uint8Array): string[] {
  const certificate = new x509.X509Certificate(new Uint8Array(der));
  const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return names.filter((name) => name.type === "dns").map((name) => name.value);
}
