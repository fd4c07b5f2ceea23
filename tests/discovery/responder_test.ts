import assert from "node:assert/strict";
// @ts-types="@types/dns-packet"
import type { Answer, Packet } from "dns-packet";
import { answerQuery, responsePacket } from "../../src/discovery/responder.ts";
import { serviceRecords } from "../../src/discovery/service_records.ts";

const FINGERPRINT = `SHA256:${"ab".repeat(32)}`;
const records = serviceRecords({
  instance: "office",
  host: "box.local",
  port: 4000,
  addresses: ["10.201.0.1"],
  protocolVersion: 1,
  fingerprint: FINGERPRINT,
  instanceId: "id-1",
});

function query(questions: Packet["questions"], answers: Answer[] = []): Packet {
  return { type: "query", questions, answers };
}

Deno.test("a PTR query for _dfos._tcp.local gets the pointer, with SRV, TXT and A as additionals", () => {
  const found = answerQuery(query([{ name: "_dfos._tcp.local", type: "PTR" }]), records);
  assert.deepEqual(found?.answers, [records.pointer]);
  assert.deepEqual(found?.additionals, [records.srv, records.txt, ...records.addresses]);
  assert.deepEqual(records.txt.data, ["txtvers=1", "proto=1", `fp=${FINGERPRINT}`, "id=id-1"]);
});

Deno.test("the service-type listing, the instance's SRV and TXT and the host's A are answered; names match in any case", () => {
  const types = answerQuery(
    query([{ name: "_services._dns-sd._udp.local", type: "PTR" }]),
    records,
  );
  assert.deepEqual(types?.answers, [records.typePointer]);
  const srv = answerQuery(query([{ name: "OFFICE._dfos._tcp.local", type: "SRV" }]), records);
  assert.deepEqual(srv?.answers, [records.srv]);
  assert.deepEqual(srv?.additionals, records.addresses);
  const txt = answerQuery(query([{ name: "office._dfos._tcp.local", type: "TXT" }]), records);
  assert.deepEqual(txt?.answers, [records.txt]);
  const host = answerQuery(query([{ name: "box.local", type: "A" }]), records);
  assert.deepEqual(host?.answers, records.addresses);
});

Deno.test("a query for other names or types gets no answer", () => {
  assert.equal(answerQuery(query([{ name: "_http._tcp.local", type: "PTR" }]), records), undefined);
  assert.equal(answerQuery(query([{ name: "box.local", type: "AAAA" }]), records), undefined);
  assert.equal(answerQuery(query([]), records), undefined);
  assert.equal(answerQuery({ type: "query" }, records), undefined);
});

Deno.test("a pointer the querier already holds with half its lifetime left is not sent again", () => {
  const question = [{ name: "_dfos._tcp.local", type: "PTR" as const }];
  const fresh = { ...records.pointer, ttl: 4500 } as Answer;
  assert.equal(answerQuery(query(question, [fresh]), records), undefined);
  const stale = { ...records.pointer, ttl: 100 } as Answer;
  assert.deepEqual(answerQuery(query(question, [stale]), records)?.answers, [records.pointer]);
});

Deno.test("a legacy query is answered with its id and questions, lifetimes at most 10 s and no cache-flush bit", () => {
  const legacy: Packet = { ...query([{ name: "_dfos._tcp.local", type: "PTR" }]), id: 4242 };
  const found = answerQuery(legacy, records)!;
  const packet = responsePacket(found, legacy);
  assert.equal(packet.id, 4242);
  assert.deepEqual(packet.questions, legacy.questions);
  for (const record of [...packet.answers!, ...packet.additionals!]) {
    assert.ok("ttl" in record && record.ttl! <= 10);
    assert.ok("flush" in record && !record.flush);
  }
  assert.equal(responsePacket(found).id, undefined);
});

Deno.test("the goodbye records carry TTL 0", () => {
  const goodbye = serviceRecords({
    instance: "office",
    host: "box.local",
    port: 4000,
    addresses: ["10.201.0.1"],
    protocolVersion: 1,
    fingerprint: undefined,
    instanceId: "id-1",
  }, 0);
  for (const record of [goodbye.pointer, goodbye.srv, goodbye.txt, ...goodbye.addresses]) {
    assert.equal((record as { ttl: number }).ttl, 0);
  }
  assert.deepEqual(goodbye.txt.data, ["txtvers=1", "proto=1", "id=id-1"]);
});
