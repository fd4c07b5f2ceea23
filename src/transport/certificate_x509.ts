/**
 * The part of certificate handling that needs an X.509 library: creating a
 * self-signed certificate. Loaded only when needed (a server's first start),
 * because the library takes about 80 ms to load.
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
