import assert from "node:assert/strict";
// @ts-types="@types/dns-packet"
import type { Packet } from "dns-packet";
import { ServerCollector } from "../../src/discovery/server_collector.ts";
import { allRecords, serviceRecords } from "../../src/discovery/service_records.ts";
import { MAX_SERVERS } from "../../src/discovery/constants.ts";

const FINGERPRINT = `SHA256:${"cd".repeat(32)}`;

function advert(
  instance: string,
  ttlScale: 0 | 1 = 1,
  fingerprint: string | undefined = FINGERPRINT,
) {
  const records = serviceRecords({
    instance,
    host: `${instance}-host.local`,
    port: 4000,
    addresses: ["10.201.0.1"],
    protocolVersion: 1,
    fingerprint,
    instanceId: "abc-123",
  }, ttlScale);
  return { type: "response", answers: allRecords(records) } as Packet;
}

Deno.test("an announcement becomes a server with its port, addresses, fingerprint and versions", () => {
  const collector = new ServerCollector();
  collector.add(advert("office"), "10.201.0.1");
  assert.deepEqual(collector.servers(), [{
    name: "office",
    host: "office-host.local",
    port: 4000,
    addresses: ["10.201.0.1"],
    fingerprint: FINGERPRINT,
    protocolVersion: 1,
    instanceId: "abc-123",
  }]);
});

Deno.test("a goodbye takes the server out again; queries and stray records add nothing", () => {
  const collector = new ServerCollector();
  collector.add(advert("office"), "10.201.0.1");
  collector.add(advert("office", 0), "10.201.0.1");
  assert.deepEqual(collector.servers(), []);
  collector.add({ ...advert("lab"), type: "query" }, "10.201.0.1");
  const { answers } = advert("lab");
  collector.add({ type: "response", answers: answers!.slice(2) }, "10.201.0.1"); // No pointer.
  assert.deepEqual(collector.servers(), []);
});

Deno.test("a malformed fingerprint is left out and names lose their control characters", () => {
  const collector = new ServerCollector();
  collector.add(advert("evil\u001b[2J", 1, "SHA256:not-hex"), "10.201.0.1");
  const [server] = collector.servers();
  assert.equal(server.name, "evil?[2J");
  assert.equal(server.fingerprint, undefined);
});

Deno.test("no more than MAX_SERVERS servers are kept", () => {
  const collector = new ServerCollector();
  for (let index = 0; index < MAX_SERVERS + 10; index++) {
    collector.add(advert(`server-${index}`), "10.201.0.1");
  }
  assert.equal(collector.servers().length, MAX_SERVERS);
});
