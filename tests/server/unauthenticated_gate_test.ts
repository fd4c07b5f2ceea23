import assert from "node:assert/strict";
import {
  addressGroup,
  type GateMember,
  UnauthenticatedGate,
} from "../../src/server/unauthenticated_gate.ts";

/** A member from `address` that notes when the gate closes it. */
function member(address: string, port: number): GateMember & { closed: boolean } {
  const made = {
    address,
    remote: `${address}:${port}`,
    closed: false,
    close() {
      made.closed = true;
    },
  };
  return made;
}

/** A gate for one test: its report timers stopped at the end. */
function withGate(test: (gate: UnauthenticatedGate) => void): () => void {
  return () => {
    const gate = new UnauthenticatedGate();
    try {
      test(gate);
    } finally {
      gate.stop();
    }
  };
}

Deno.test(
  "while there is room everyone comes in; a member leaves once however often it is told to",
  withGate((gate) => {
    const members = [member("10.0.0.1", 1), member("10.0.0.1", 2), member("10.0.0.2", 1)];
    for (const each of members) assert.equal(gate.enter(each, 3), true);
    assert.equal(gate.count, 3);
    gate.leave(members[0]);
    gate.leave(members[0]);
    assert.equal(gate.count, 2);
    gate.rejoin(members[1]); // Already in: not counted twice.
    assert.equal(gate.count, 2);
    assert.ok(members.every((each) => !each.closed));
  }),
);

Deno.test(
  "when full, a newcomer from an address with fewer places takes the place of the largest address's oldest",
  withGate((gate) => {
    const crowd = [1, 2, 3].map((port) => member("10.0.0.9", port));
    for (const each of crowd) assert.equal(gate.enter(each, 3), true);
    const newcomer = member("10.0.0.1", 1);
    assert.equal(gate.enter(newcomer, 3), true);
    assert.deepEqual(crowd.map((each) => each.closed), [true, false, false], "the oldest closed");
    assert.equal(gate.count, 3);
    gate.leave(crowd[0]); // Its handshake ends later and leaves: nothing more happens.
    assert.equal(gate.count, 3);
    // 10.0.0.9 now holds 2, 10.0.0.1 holds 1: a second from 10.0.0.1 would make them equal.
    const second = member("10.0.0.1", 2);
    assert.equal(gate.enter(second, 3), false, "no swap that leaves the newcomer's address ahead");
    assert.equal(second.closed, false, "a refused newcomer is closed by its caller, not here");
    assert.deepEqual(crowd.map((each) => each.closed), [true, false, false]);
  }),
);

Deno.test(
  "a newcomer from the address that holds the most is refused, and one from a new address is let in",
  withGate((gate) => {
    const a = [1, 2].map((port) => member("10.0.0.1", port));
    const b = [1, 2].map((port) => member("10.0.0.2", port));
    for (const each of [...a, ...b]) assert.equal(gate.enter(each, 4), true);
    assert.equal(gate.enter(member("10.0.0.1", 3), 4), false, "2 against 2: refused");
    assert.equal(gate.enter(member("10.0.0.2", 3), 4), false);
    assert.ok([...a, ...b].every((each) => !each.closed));
    // From a third address (holding none), 2 > 0 + 1: the oldest of the first largest goes.
    assert.equal(gate.enter(member("10.0.0.3", 1), 4), true);
    assert.deepEqual([...a, ...b].map((each) => each.closed), [true, false, false, false]);
  }),
);

Deno.test(
  "a member back from the queue is counted in without a check, even beyond the bound",
  withGate((gate) => {
    const waiting = member("10.0.0.1", 1);
    assert.equal(gate.enter(waiting, 1), true);
    gate.leave(waiting); // Into the queue.
    assert.equal(gate.enter(member("10.0.0.2", 1), 1), true);
    gate.rejoin(waiting);
    assert.equal(gate.count, 2);
  }),
);

Deno.test("places are shared by IPv4 address and by IPv6 /64; a mapped IPv4 address is its IPv4 form", () => {
  const cases: [string, string][] = [
    ["192.0.2.7", "192.0.2.7"],
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["[2001:db8:1:2::5]", "2001:db8:1:2::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["::FFFF:192.0.2.7", "192.0.2.7"],
    ["not an address", "not an address"],
    ["1:2:3", "1:2:3"],
    ["1::2::3", "1::2::3"],
  ];
  for (const [address, group] of cases) assert.equal(addressGroup(address), group, address);
});

Deno.test(
  "many IPv6 addresses of one /64 hold one part, and a newcomer from another /64 takes the place of their oldest",
  withGate((gate) => {
    const block = [1, 2, 3, 4].map((host) => member(`2001:db8:1:2::${host}`, 1000 + host));
    for (const each of block) assert.equal(gate.enter(each, 4), true);
    assert.equal(gate.enter(member("2001:db8:1:2::99", 1), 4), false, "the same /64: refused");
    assert.equal(gate.enter(member("2001:db8:9:9::1", 1), 4), true);
    assert.deepEqual(block.map((each) => each.closed), [true, false, false, false]);
  }),
);
