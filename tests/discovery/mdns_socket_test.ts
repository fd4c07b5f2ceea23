import assert from "node:assert/strict";
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";
import { acceptedPacket } from "../../src/discovery/mdns_socket.ts";
import { onLink } from "../../src/discovery/interfaces.ts";
import { MAX_PACKET_BYTES } from "../../src/discovery/constants.ts";

const LINK = { name: "veth0", address: "10.201.0.1", prefixLength: 24 };
const QUERY = new Uint8Array(dnsPacket.encode({
  type: "query",
  questions: [{ name: "_dfos._tcp.local", type: "PTR" }],
}));

Deno.test("a query from the link decodes; from off the link it is dropped", () => {
  assert.equal(acceptedPacket(QUERY, "10.201.0.2", LINK)?.questions?.[0].name, "_dfos._tcp.local");
  assert.equal(acceptedPacket(QUERY, "10.202.0.2", LINK), undefined);
  assert.equal(acceptedPacket(QUERY, "not an address", LINK), undefined);
});

Deno.test("short, oversized, overcounted and malformed packets are dropped without a throw", () => {
  assert.equal(acceptedPacket(QUERY.subarray(0, 11), "10.201.0.2", LINK), undefined);
  const big = new Uint8Array(MAX_PACKET_BYTES + 1);
  big.set(QUERY);
  assert.equal(acceptedPacket(big, "10.201.0.2", LINK), undefined);
  const overcounted = QUERY.slice();
  overcounted.set([0xff, 0xff], 6); // 65535 answers claimed.
  assert.equal(acceptedPacket(overcounted, "10.201.0.2", LINK), undefined);
  const truncated = QUERY.subarray(0, QUERY.length - 3);
  assert.equal(acceptedPacket(truncated, "10.201.0.2", LINK), undefined);
  // A name whose compression pointer points at itself.
  const loop = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1]);
  assert.equal(acceptedPacket(loop, "10.201.0.2", LINK), undefined);
  for (let seed = 0; seed < 200; seed++) {
    const noise = crypto.getRandomValues(new Uint8Array(12 + seed * 7));
    noise.set([0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0], 0);
    acceptedPacket(noise, "10.201.0.2", LINK); // Must not throw.
  }
});

Deno.test("onLink compares subnets by prefix length", () => {
  assert.ok(onLink({ ...LINK, prefixLength: 16 }, "10.201.77.1"));
  assert.ok(!onLink(LINK, "10.201.1.1"));
  assert.ok(onLink({ ...LINK, prefixLength: 0 }, "192.0.2.1"));
  assert.ok(onLink({ ...LINK, prefixLength: 32 }, "10.201.0.1"));
  assert.ok(!onLink({ ...LINK, prefixLength: 32 }, "10.201.0.2"));
});
