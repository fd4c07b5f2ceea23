import assert from "node:assert/strict";
import { formatMetricsAddress, parseMetricsAddress } from "../../src/metrics/metrics_address.ts";

Deno.test("--metrics takes HOST:PORT, a name or an address, IPv6 in brackets, port 0 for any", () => {
  assert.deepEqual(parseMetricsAddress("127.0.0.1:9464"), { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(parseMetricsAddress("localhost:0"), { hostname: "localhost", port: 0 });
  assert.deepEqual(parseMetricsAddress("0.0.0.0:65535"), { hostname: "0.0.0.0", port: 65535 });
  assert.deepEqual(parseMetricsAddress("[::1]:9464"), { hostname: "::1", port: 9464 });
  assert.equal(formatMetricsAddress({ hostname: "::1", port: 9464 }), "[::1]:9464");
  assert.equal(formatMetricsAddress({ hostname: "127.0.0.1", port: 1 }), "127.0.0.1:1");
});

Deno.test("a malformed --metrics value is refused with what is wrong", () => {
  const cases: [string, RegExp][] = [
    ["", /expected HOST:PORT/],
    ["127.0.0.1", /expected HOST:PORT/],
    [":9464", /expected HOST:PORT/],
    ["::1:9464", /expected HOST:PORT/],
    ["[::1]", /expected HOST:PORT/],
    ["a b:1", /expected HOST:PORT/],
    ["http://127.0.0.1:9464", /without a scheme/],
    ["127.0.0.1:", /"" is not a port/],
    ["127.0.0.1:65536", /"65536" is not a port \(0 to 65535\)/],
    ["127.0.0.1:-1", /"-1" is not a port/],
    ["127.0.0.1:9x", /"9x" is not a port/],
    ["127.0.0.1:123456", /not a port/],
  ];
  for (const [given, message] of cases) {
    assert.throws(() => parseMetricsAddress(given), message, JSON.stringify(given));
  }
});
