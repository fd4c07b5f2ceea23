import assert from "node:assert/strict";
import { checkInstanceName, hostLabel, instanceOf } from "../../src/discovery/names.ts";

Deno.test("an instance name is trimmed and may hold spaces and any script", () => {
  assert.equal(checkInstanceName("  Büro Server "), "Büro Server");
});

Deno.test("an empty, too long, dotted or control-character name is refused with the reason", () => {
  assert.throws(() => checkInstanceName("  "), /empty/);
  assert.throws(() => checkInstanceName("é".repeat(32)), /64 bytes long; at most 63/);
  assert.throws(() => checkInstanceName("a.b"), /dots/);
  assert.throws(() => checkInstanceName("a\u001bb"), /control/);
});

Deno.test("a host label keeps letters, digits and hyphens of the first label", () => {
  assert.equal(hostLabel("build box.example.org"), "build-box");
  assert.equal(hostLabel("___"), "dfos-server");
  assert.equal(hostLabel("x".repeat(80)).length, 63);
});

Deno.test("instanceOf takes the instance out of a full name of the DFOS type only", () => {
  assert.equal(instanceOf("Office._dfos._tcp.local"), "Office");
  assert.equal(instanceOf("Office._http._tcp.local"), undefined);
  assert.equal(instanceOf("._dfos._tcp.local"), undefined);
});
