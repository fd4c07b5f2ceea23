/**
 * Encryption on by default, and trust the way SSH does it: unknown servers
 * are not trusted silently, a changed identity is refused loudly, plaintext
 * happens only when both ends ask for it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer } from "../helpers/processes.ts";
import { startRelay } from "../helpers/relay.ts";
import { hasOpenssl, newEcKey, openssl } from "../helpers/openssl.ts";

Deno.test({
  name:
    "openssl s_client negotiates TLS 1.3 with the server's self-signed certificate, and nothing older",
  ignore: !hasOpenssl,
  async fn() {
    await using server = await startServer();
    const address = `127.0.0.1:${server.port}`;
    const tls13 = await openssl(["s_client", "-connect", address, "-tls1_3", "-showcerts"]);
    assert.match(tls13.output, /Protocol\s*:\s*TLSv1\.3|New, TLSv1\.3/);
    assert.match(tls13.output, /Server public key is 256 bit/);
    const pem =
      tls13.output.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
    const printed = await openssl(["x509", "-noout", "-fingerprint", "-sha256"], pem);
    const hex = printed.output.split("=")[1].trim().replaceAll(":", "").toLowerCase();
    assert.equal(`SHA256:${hex}`, server.fingerprint, "the fingerprint the server printed");
    for (const old of ["-tls1", "-tls1_1", "-tls1_2"]) {
      const refused = await openssl(["s_client", "-connect", address, old]);
      assert.notEqual(refused.code, 0, `${old} must not be negotiated`);
    }
    const state = join(server.dir, "server_state");
    for (const file of ["tls_key.pem", "tls_cert.pem"]) {
      assert.equal((await Deno.stat(join(state, file))).mode! & 0o777, 0o600, file);
    }
  },
});

Deno.test("the server keeps its certificate across restarts", async () => {
  const first = await startServer();
  const fingerprint = first.fingerprint;
  await first.stop();
  await using second = await startServer([], first.dir);
  assert.equal(second.fingerprint, fingerprint);
});

Deno.test("first contact: refused without a terminal, accepted with --accept-new-host, then silent", async () => {
  await using server = await startServer();
  const knownHosts = join(server.dir, "fresh_known_hosts");
  const fresh = { port: server.port, knownHosts };
  const started = Date.now();
  const refused = await runClient(fresh, ["pwd"]);
  assert.equal(refused.code, 4);
  assert.match(
    refused.stderr,
    new RegExp(`unknown server, certificate fingerprint ${server.fingerprint}`),
  );
  assert.match(refused.stderr, /--accept-new-host/);
  assert.ok(Date.now() - started < 5000);
  await assert.rejects(Deno.stat(knownHosts), "nothing recorded");

  const accepted = await runClient(fresh, ["--accept-new-host", "pwd"]);
  assert.equal(accepted.code, 0, accepted.stderr);
  const line = await Deno.readTextFile(knownHosts);
  assert.ok(line.startsWith(`127.0.0.1:${server.port} ${server.fingerprint} `));
  assert.equal((await Deno.stat(knownHosts)).mode! & 0o777, 0o600);

  const again = await runClient(fresh, ["pwd"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, "");
  assert.equal(await Deno.readTextFile(knownHosts), line, "recorded once");
});

Deno.test("a regenerated server certificate is refused loudly, whatever the flags", async () => {
  const original = await startServer();
  const port = original.port;
  assert.equal((await runClient(original, ["pwd"])).code, 0);
  await original.stop();
  await Deno.remove(join(original.dir, "server_state"), { recursive: true });
  await using replaced = await startServer([`--port=${port}`], original.dir);
  assert.notEqual(replaced.fingerprint, original.fingerprint);
  for (const flags of [[], ["--accept-new-host"], [`--fingerprint=${replaced.fingerprint}`]]) {
    const result = await runClient(original, [...flags, "pwd"]);
    assert.equal(result.code, 4, flags.join(" "));
    assert.match(result.stderr, /SERVER IDENTITY CHANGED/);
    assert.ok(result.stderr.includes(`remembered: ${original.fingerprint}`));
    assert.ok(result.stderr.includes(`presented:  ${replaced.fingerprint}`));
    assert.ok(result.stderr.includes(`remove line 1 of ${original.knownHosts}`));
  }
});

Deno.test("--fingerprint connects on a match and refuses a mismatch", async () => {
  await using server = await startServer();
  const fresh = { port: server.port, knownHosts: join(server.dir, "none") };
  const match = await runClient(fresh, [
    `--fingerprint=${server.fingerprint!.toUpperCase()}`,
    "pwd",
  ]);
  assert.equal(match.code, 0, match.stderr);
  const wrong = `SHA256:${"0".repeat(64)}`;
  const mismatch = await runClient(fresh, [`--fingerprint=${wrong}`, "pwd"]);
  assert.equal(mismatch.code, 4);
  assert.match(mismatch.stderr, /presented SHA256:[0-9a-f]{64}, not the expected SHA256:0{64}/);
  const malformed = await runClient(fresh, ["--fingerprint=abc", "pwd"]);
  assert.equal(malformed.code, 2);
});

Deno.test("--fingerprint that is the remembered one connects with one handshake; one that is not is refused", async () => {
  await using server = await startServer();
  const cert = join(server.dir, "server_state", "tls_cert.pem");
  const relay = await startRelay(server.port, cert, server.knownHosts);
  try {
    const match = await runClient(relay, [`--fingerprint=${server.fingerprint}`, "pwd"]);
    assert.equal(match.code, 0, match.stderr);
    assert.equal(relay.connections(), 1, "no separate look at the certificate first");
    const wrong = `SHA256:${"0".repeat(64)}`;
    const mismatch = await runClient(relay, [`--fingerprint=${wrong}`, "pwd"]);
    assert.equal(mismatch.code, 4, "a remembered entry does not override --fingerprint");
    assert.match(mismatch.stderr, /presented SHA256:[0-9a-f]{64}, not the expected SHA256:0{64}/);
  } finally {
    relay.cut();
  }
});

Deno.test("a plaintext client and a TLS server, and the reverse, fail clearly within 5 s", async () => {
  await using tlsServer = await startServer();
  let started = Date.now();
  const plainToTls = await runClient(tlsServer, ["--insecure-no-tls", "pwd"]);
  assert.equal(plainToTls.code, 4);
  assert.match(plainToTls.stderr, /speaks TLS/);
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);

  await using plainServer = await startServer(["--insecure-no-tls"]);
  assert.match(plainServer.output(), /TLS is OFF/);
  started = Date.now();
  const tlsToPlain = await runClient(plainServer, ["--accept-new-host", "pwd"]);
  assert.equal(tlsToPlain.code, 4);
  assert.match(tlsToPlain.stderr, /--insecure-no-tls/);
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);

  const bothPlain = await runClient(plainServer, ["--insecure-no-tls", "pwd"]);
  assert.equal(bothPlain.code, 0, bothPlain.stderr);
  assert.match(bothPlain.stderr, /warning: TLS is off/);
});

Deno.test({
  name: "--tls-cert/--tls-key serve a CA-issued certificate that --ca verifies",
  ignore: !hasOpenssl,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dfos-ca-" });
    const run = (...args: string[]) => openssl(args);
    await run(
      "req",
      "-x509",
      ...newEcKey(`${dir}/ca.key`),
      "-out",
      `${dir}/ca.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=Test CA",
    );
    await run(
      "req",
      ...newEcKey(`${dir}/server.key`),
      "-out",
      `${dir}/server.csr`,
      "-subj",
      "/CN=127.0.0.1",
    );
    await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1\n");
    await run(
      "x509",
      "-req",
      "-in",
      `${dir}/server.csr`,
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-CAcreateserial",
      "-out",
      `${dir}/server.pem`,
      "-days",
      "2",
      "-extfile",
      `${dir}/ext.cnf`,
    );
    await using server = await startServer([
      `--tls-cert=${dir}/server.pem`,
      `--tls-key=${dir}/server.key`,
    ]);
    const noPin = { port: server.port, knownHosts: join(dir, "unused") };
    const verified = await runClient(noPin, [`--ca=${dir}/ca.pem`, "pwd"]);
    assert.equal(verified.code, 0, verified.stderr);
    const otherCa = await runClient(noPin, [`--ca=${server.dir}/server_state/missing.pem`, "pwd"]);
    assert.equal(otherCa.code, 2, "an unreadable CA file is a usage error");
    const wrongCa = await runClient(noPin, [`--ca=${dir}/server.pem`, "pwd"]);
    assert.equal(wrongCa.code, 4);
    assert.match(wrongCa.stderr, /not valid for 127\.0\.0\.1/);
    const halfFlags = await startServer([`--tls-cert=${dir}/server.pem`]).catch((error) => error);
    assert.match(String(halfFlags), /--tls-cert and --tls-key go together/);
    await Deno.remove(dir, { recursive: true });
  },
});
