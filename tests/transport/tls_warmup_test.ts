import assert from "node:assert/strict";
import { makesTlsConnection, warmUpTls } from "../../src/transport/tls_warmup.ts";

Deno.test("the TLS warm-up is for client commands that use TLS", () => {
  assert.equal(makesTlsConnection(["client", "--host", "10.0.0.5", "ls"]), true);
  assert.equal(makesTlsConnection(["client"]), true);
  assert.equal(makesTlsConnection(["client", "--insecure-no-tls", "--host", "h", "ls"]), false);
  assert.equal(makesTlsConnection(["server"]), false);
  assert.equal(makesTlsConnection(["user", "add", "alice"]), false);
  assert.equal(makesTlsConnection(["discover"]), false);
  assert.equal(makesTlsConnection([]), false);
});

Deno.test("the TLS warm-up settles without a value, whether it ran or not", async () => {
  assert.equal(await warmUpTls(["client", "ls"]), undefined);
  assert.equal(await warmUpTls(["server"]), undefined);
});
