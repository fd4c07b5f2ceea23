import assert from "node:assert/strict";
import { HttpRequestError, parseRequestHead } from "../../src/metrics/http_request.ts";

const head = (text: string) => new TextEncoder().encode(text);

/** The status a head is refused with, or "accepted". */
function verdict(text: string): number | "accepted" {
  try {
    parseRequestHead(head(text));
    return "accepted";
  } catch (error) {
    assert.ok(error instanceof HttpRequestError, String(error));
    return error.status;
  }
}

Deno.test("a scrape's request head gives its method and path, without the query", () => {
  const scrape =
    "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.42.0\r\n" +
    "Accept: text/plain;version=0.0.4;q=1\r\nX-Prometheus-Scrape-Timeout-Seconds: 1";
  assert.deepEqual(parseRequestHead(head(scrape)), { method: "GET", path: "/metrics" });
  assert.deepEqual(parseRequestHead(head("POST /healthz HTTP/1.0")), {
    method: "POST",
    path: "/healthz",
  });
  assert.equal(verdict("GET / HTTP/1.1\r\nContent-Length: 0"), "accepted");
});

Deno.test("malformed heads, other HTTP versions and request bodies are refused with their status", () => {
  assert.equal(verdict("GET /metrics"), 400);
  assert.equal(verdict("GET  /metrics HTTP/1.1"), 400);
  assert.equal(verdict("G(T /metrics HTTP/1.1"), 400);
  assert.equal(verdict("GET http://h/metrics HTTP/1.1"), 400);
  assert.equal(verdict("GET /metrics HTTP/1.1\r\nno colon here"), 400);
  assert.equal(verdict("GET /metrics HTTP/1.1\r\n folded: value"), 400);
  assert.equal(verdict("GET /metrics HTTP/2.0"), 505);
  assert.equal(verdict("GET /metrics HTTP/1.2"), 505);
  assert.equal(verdict("GET /metrics HTTP/1.1\r\nContent-Length: 5"), 413);
  assert.equal(verdict("GET /metrics HTTP/1.1\r\ntransfer-encoding: chunked"), 413);
});
