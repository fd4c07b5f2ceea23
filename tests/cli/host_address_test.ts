import assert from "node:assert/strict";
import { parseServerAddress } from "../../src/cli/host_address.ts";
import { UsageError } from "../../src/client/errors.ts";

Deno.test("--host takes HOST, HOST:PORT, [IPV6], [IPV6]:PORT and a bare IPv6 address", () => {
  const cases: [string, number | undefined, { host: string; port: number }][] = [
    ["10.0.0.5", undefined, { host: "10.0.0.5", port: 33000 }],
    ["10.0.0.5", 4000, { host: "10.0.0.5", port: 4000 }],
    ["127.0.0.1:41517", undefined, { host: "127.0.0.1", port: 41517 }],
    ["files.example:4000", 4000, { host: "files.example", port: 4000 }],
    ["[::1]:4000", undefined, { host: "::1", port: 4000 }],
    ["[2001:db8::7]", 4000, { host: "2001:db8::7", port: 4000 }],
    ["::1", undefined, { host: "::1", port: 33000 }],
    ["fe80::1:2", 4000, { host: "fe80::1:2", port: 4000 }],
  ];
  for (const [given, port, expected] of cases) {
    assert.deepEqual(parseServerAddress(given, port, 33000), expected, given);
  }
});

Deno.test("a port in --host that differs from the --port typed is a usage error saying so", () => {
  assert.throws(
    () => parseServerAddress("127.0.0.1:41517", 33000, 33000),
    (error) =>
      error instanceof UsageError &&
      error.message === "--host 127.0.0.1:41517 names port 41517 but --port says 33000: " +
          "give the port once",
  );
});

Deno.test("malformed --host values are usage errors that name the value", () => {
  const cases: [string, RegExp][] = [
    ["127.0.0.1:", /"" is not a port/],
    ["127.0.0.1:http", /"http" is not a port/],
    ["127.0.0.1:70000", /"70000" is not a port \(1 to 65535\)/],
    ["127.0.0.1:0", /"0" is not a port/],
    [":4000", /no host name or address/],
    ["[::1", /write an IPv6 address as \[ADDRESS\]/],
    ["[::1]4000", /write an IPv6 address as \[ADDRESS\]/],
    ["[]:4000", /no host name or address/],
    ["::1:41517", /not an IPv6 address; with a port, write \[ADDRESS\]:PORT or use --port/],
    ["2001:db8::7:70000", /not an IPv6 address/],
    ["files.example:4000:5000", /not an IPv6 address/],
    ["[files.example]:4000", /brackets are for an IPv6 address/],
  ];
  for (const [given, message] of cases) {
    assert.throws(
      () => parseServerAddress(given, undefined, 33000),
      (error) =>
        error instanceof UsageError && message.test(error.message) &&
        error.message.startsWith(`--host ${given}`),
      given,
    );
  }
});
