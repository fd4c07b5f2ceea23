/**
 * The server's TLS identity: a certificate from a real CA given by the
 * operator, or a self-signed one created on first start and reused on
 * every later start (mode 0600, in the server's state folder).
 *
 * @module
 */

import { join } from "node:path";
import { fingerprint, pemToDer } from "./certificate.ts";
import type { CertifiedKey } from "./certificate_x509.ts";

/** The server's certificate and key, and the certificate's fingerprint. */
export interface ServerIdentity extends CertifiedKey {
  fingerprint: string;
  /** True when created during this call. */
  created: boolean;
}

/** File names inside the state folder. */
export const IDENTITY_FILES = { cert: "tls_cert.pem", key: "tls_key.pem" } as const;

/** Options of {@link loadServerIdentity}: given files, or the state folder. */
export type IdentitySource =
  | { kind: "files"; certFile: string; keyFile: string }
  | { kind: "state"; stateDir: string };

/** Loads the identity, creating a self-signed one in the state folder if there is none. */
export async function loadServerIdentity(source: IdentitySource): Promise<ServerIdentity> {
  if (source.kind === "files") {
    const certPem = await Deno.readTextFile(source.certFile);
    const keyPem = await Deno.readTextFile(source.keyFile);
    return { certPem, keyPem, fingerprint: fingerprint(pemToDer(certPem)), created: false };
  }
  await Deno.mkdir(source.stateDir, { recursive: true, mode: 0o700 });
  const certPath = join(source.stateDir, IDENTITY_FILES.cert);
  const keyPath = join(source.stateDir, IDENTITY_FILES.key);
  const existing = await readPair(certPath, keyPath);
  if (existing) {
    return { ...existing, fingerprint: fingerprint(pemToDer(existing.certPem)), created: false };
  }
  const { createSelfSignedCertificate } = await import("./certificate_x509.ts");
  const pair = await createSelfSignedCertificate();
  await writePrivate(keyPath, pair.keyPem);
  await writePrivate(certPath, pair.certPem);
  return { ...pair, fingerprint: fingerprint(pemToDer(pair.certPem)), created: true };
}

async function readPair(certPath: string, keyPath: string): Promise<CertifiedKey | undefined> {
  try {
    return { certPem: await Deno.readTextFile(certPath), keyPem: await Deno.readTextFile(keyPath) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes a file readable only by its owner, atomically. */
async function writePrivate(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(temporary, text, { mode: 0o600 });
  await Deno.chmod(temporary, 0o600);
  await Deno.rename(temporary, path);
}
