import assert from "node:assert/strict";
import { join } from "node:path";
import { KnownHosts } from "../../src/transport/known_hosts.ts";
import { fingerprint, pemToDer, SERVER_CERT_NAME } from "../../src/transport/certificate.ts";
import { createSelfSignedCertificate } from "../../src/transport/certificate_x509.ts";
import { trustStatus } from "../../src/discovery/trust_status.ts";

Deno.test("a discovered server is trusted, changed, new or without TLS as known-hosts holds it for its addresses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-trust-status-" });
  try {
    const path = join(dir, "known_hosts");
    const der = pemToDer((await createSelfSignedCertificate()).certPem);
    await (await KnownHosts.load(path)).add("10.0.0.5:4000", der, SERVER_CERT_NAME);
    const known = await KnownHosts.load(path);
    const server = { name: "x", host: "x.local", port: 4000, addresses: ["10.0.1.5", "10.0.0.5"] };
    assert.equal(trustStatus({ ...server, fingerprint: fingerprint(der) }, known), "trusted");
    const other = `SHA256:${"0".repeat(64)}`;
    assert.equal(trustStatus({ ...server, fingerprint: other }, known), "changed");
    assert.equal(trustStatus({ ...server, port: 4001, fingerprint: other }, known), "new");
    assert.equal(trustStatus(server, known), "no-tls");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
