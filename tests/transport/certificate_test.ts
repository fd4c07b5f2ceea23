import assert from "node:assert/strict";
import { join } from "node:path";
import {
  certificateNames,
  fingerprint,
  pemToDer,
  SERVER_CERT_NAME,
} from "../../src/transport/certificate.ts";
import { createSelfSignedCertificate } from "../../src/transport/certificate_x509.ts";
import { hasOpenssl, newEcKey, openssl } from "../helpers/openssl.ts";

if (!hasOpenssl) console.warn("certificate_test: an operator's certificate: ignored: no openssl");

Deno.test("a self-signed DFOS certificate names the fixed server name, and only it", async () => {
  const { certPem } = await createSelfSignedCertificate();
  assert.deepEqual(certificateNames(pemToDer(certPem)), [SERVER_CERT_NAME]);
  assert.match(fingerprint(pemToDer(certPem)), /^SHA256:[0-9a-f]{64}$/);
});

Deno.test(
  "the DNS names of an operator's certificate come in order; IP addresses and odd entries are left out",
  { ignore: !hasOpenssl },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dfos-cert-" });
    try {
      const cert = join(dir, "cert.pem");
      const made = await openssl([
        "req",
        "-x509",
        ...newEcKey(join(dir, "key.pem")),
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=files.example.org",
        "-addext",
        "subjectAltName=DNS:files.example.org,IP:10.0.0.5,DNS:*.files.example.org,email:a@b.c",
      ]);
      assert.equal(made.code, 0, made.output);
      assert.deepEqual(certificateNames(pemToDer(await Deno.readTextFile(cert))), [
        "files.example.org",
        "*.files.example.org",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("bytes that are no certificate are refused, not read as one without names", () => {
  assert.throws(() => certificateNames(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])));
});
