/**
 * Which stores are sent a file's bytes without their hash in the request's
 * signature: those the bytes reach over TLS or without leaving the machine.
 */

import assert from "node:assert/strict";
import { payloadUnsigned } from "../../src/storage/object/s3_client.ts";

Deno.test("bytes go unsigned over HTTPS and on loopback, signed over plain HTTP to another machine", () => {
  for (const endpoint of [undefined, "https://s3.example.com", "https://10.0.0.5:7480"]) {
    assert.equal(payloadUnsigned(endpoint), true, `${endpoint}: TLS protects the bytes`);
  }
  for (const endpoint of ["http://127.0.0.1:7480", "http://127.1.2.3", "http://localhost:80"]) {
    assert.equal(payloadUnsigned(endpoint), true, `${endpoint}: loopback`);
  }
  assert.equal(payloadUnsigned("http://[::1]:7480"), true, "IPv6 loopback");
  for (
    const endpoint of [
      "http://10.0.0.5:7480",
      "http://s3.example.com",
      "http://127.0.0.1.example.com",
    ]
  ) {
    assert.equal(payloadUnsigned(endpoint), false, `${endpoint}: signed`);
  }
});
