import assert from "node:assert/strict";
import { isIPv6 } from "node:net";
import { isIpv6Text } from "../../src/shared/ipv6_text.ts";

const VALID = [
  "::",
  "::1",
  "1::",
  "1:2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7::",
  "::2:3:4:5:6:7:8",
  "2001:db8::8a2e:370:7334",
  "2001:DB8:0:0:8:800:200C:417A",
  "fe80::1%eth0",
  "fe80::1%3",
  "::ffff:192.0.2.1",
  "1:2:3:4:5:6:192.0.2.1",
  "::192.0.2.1",
  "64:ff9b::10.0.0.255",
];

const INVALID = [
  "",
  ":",
  ":::",
  "1:2:3:4:5:6:7",
  "1:2:3:4:5:6:7:8:9",
  "1:2:3:4:5:6:7:8::",
  "::1::",
  "1::2::3",
  "12345::",
  "g::1",
  "example.com",
  "192.0.2.1",
  "::1:",
  ":1::",
  "1.2.3.4::",
  "::1.2.3.4:5",
  "::256.0.0.1",
  "::01.2.3.4",
  "::1.2.3",
  "[::1]",
  "[::1]:80",
  "fe80::1%",
  "fe80::1% x",
  " ::1",
];

Deno.test("IPv6 addresses in their written forms are recognised, zones and embedded IPv4 included", () => {
  for (const text of VALID) assert.equal(isIpv6Text(text), true, text);
});

Deno.test("names, IPv4 addresses, bracketed forms and malformed groups are not IPv6 addresses", () => {
  for (const text of INVALID) assert.equal(isIpv6Text(text), false, text);
});

Deno.test("the check agrees with node:net's isIPv6 on every case here", () => {
  for (const text of [...VALID, ...INVALID]) assert.equal(isIpv6Text(text), isIPv6(text), text);
});

Deno.test("the check agrees with node:net's isIPv6 on random strings of address characters", () => {
  const alphabet = "0123456789abcdefABCDEF:::::..%x";
  let seed = 12345;
  const random = (below: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  for (let round = 0; round < 20_000; round++) {
    let text = "";
    for (let length = 1 + random(24); length > 0; length--) {
      text += alphabet[random(alphabet.length)];
    }
    assert.equal(isIpv6Text(text), isIPv6(text), text);
  }
});
