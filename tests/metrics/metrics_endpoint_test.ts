/**
 * The metrics endpoint in-process, on loopback: its two routes, what it
 * refuses, and the bounds on what a peer may hold (head size, time,
 * connections).
 */

import assert from "node:assert/strict";
import { configure, reset } from "@logtape/logtape";
import { type EndpointLimits, MetricsEndpoint } from "../../src/metrics/metrics_endpoint.ts";
import { EXPOSITION_CONTENT_TYPE } from "../../src/metrics/exposition.ts";
import { waitFor, within } from "../helpers/processes.ts";

const TEXT = "# HELP t_total t\n# TYPE t_total counter\nt_total 1\n";

/** An endpoint on a free loopback port; `render` defaults to a fixed text. */
function openEndpoint(limits: EndpointLimits = {}, render = () => Promise.resolve(TEXT)) {
  return MetricsEndpoint.open({ hostname: "127.0.0.1", port: 0 }, { render }, limits);
}

function url(endpoint: MetricsEndpoint, path: string): string {
  return `http://127.0.0.1:${endpoint.address.port}${path}`;
}

/** Sends `request` as it is and reads the reply up to the end of the connection. */
async function rawExchange(endpoint: MetricsEndpoint, request: string | Uint8Array) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: endpoint.address.port });
  try {
    const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
    await conn.write(bytes).catch(() => {}); // The endpoint may close before taking it all.
    await conn.closeWrite().catch(() => {});
    return await within(readToEnd(conn), 5_000, "the reply");
  } finally {
    conn.close();
  }
}

async function readToEnd(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const read = await conn.read(buffer).catch(() => null);
    if (read === null) break;
    chunks.push(buffer.slice(0, read));
  }
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
}

/** Keeps the server log quiet, and collects it, while `body` runs. */
async function quietly(body: (lines: string[]) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => lines.push(String(record.message.join(""))) },
    loggers: [
      { category: ["dfos", "server"], lowestLevel: "info", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await body(lines);
  } finally {
    await reset();
  }
}

Deno.test("GET /metrics is the text format with its Content-Type; /healthz is ok, and 503 once shutting down", async () => {
  const endpoint = openEndpoint();
  try {
    const metrics = await fetch(url(endpoint, "/metrics"));
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get("content-type"), EXPOSITION_CONTENT_TYPE);
    assert.equal(await metrics.text(), TEXT);
    const health = await fetch(url(endpoint, "/healthz"));
    assert.deepEqual([health.status, await health.text()], [200, "ok\n"]);
    endpoint.shuttingDown();
    const down = await fetch(url(endpoint, "/healthz"));
    assert.deepEqual([down.status, await down.text()], [503, "shutting down\n"]);
    const stillMetrics = await fetch(url(endpoint, "/metrics?ignored=1"));
    assert.deepEqual([stillMetrics.status, await stillMetrics.text()], [200, TEXT]);
  } finally {
    await endpoint.close();
  }
});

Deno.test("any other path is 404, any other method 405 with Allow: GET", async () => {
  const endpoint = openEndpoint();
  try {
    for (const path of ["/", "/metrics/", "/Metrics", "/healthz/x"]) {
      const response = await fetch(url(endpoint, path));
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
    for (const method of ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"]) {
      const response = await fetch(url(endpoint, "/metrics"), { method });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get("allow"), "GET");
      await response.body?.cancel();
    }
    assert.match(
      await rawExchange(endpoint, "GET /../metrics HTTP/1.1\r\n\r\n"),
      /^HTTP\/1\.1 404 /,
    );
  } finally {
    await endpoint.close();
  }
});

Deno.test("an oversized head is 431, a body 413, a broken request line 400, HTTP/2 505; the endpoint serves on", async () => {
  const endpoint = openEndpoint({ maxHeadBytes: 1024 });
  try {
    const huge = `GET /metrics HTTP/1.1\r\nX-Filler: ${"a".repeat(4000)}\r\n\r\n`;
    assert.match(await rawExchange(endpoint, huge), /^HTTP\/1\.1 431 /);
    const body = "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    assert.match(await rawExchange(endpoint, body), /^HTTP\/1\.1 413 [^]*no request body/);
    assert.match(await rawExchange(endpoint, "HELLO\r\n\r\n"), /^HTTP\/1\.1 400 /);
    assert.match(await rawExchange(endpoint, "GET /metrics HTTP/2.0\r\n\r\n"), /^HTTP\/1\.1 505 /);
    assert.match(await rawExchange(endpoint, "GET /metrics"), /^HTTP\/1\.1 400 [^]*ended before/);
    const reply = await rawExchange(endpoint, "GET /metrics HTTP/1.0\r\n\r\n");
    assert.match(
      reply,
      /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\n# HELP t_total/,
    );
    await waitFor(() => endpoint.connections === 0, 5_000, "every connection closed");
  } finally {
    await endpoint.close();
  }
});

Deno.test("a peer that does not finish its request in time is cut off", async () => {
  const endpoint = openEndpoint({ deadlineMs: 200 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: endpoint.address.port });
    await conn.write(new TextEncoder().encode("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
    assert.equal(await within(readToEnd(conn), 5_000, "the cut-off"), "");
    conn.close();
    assert.equal(endpoint.connections, 0);
  } finally {
    await endpoint.close();
  }
});

Deno.test("beyond the connections allowed at once a new one is closed at once; once they end, it serves again", async () => {
  await quietly(async (lines) => {
    const endpoint = openEndpoint({ maxConnections: 2 });
    const idle: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        idle.push(await Deno.connect({ hostname: "127.0.0.1", port: endpoint.address.port }));
      }
      await waitFor(() => endpoint.connections === 2, 5_000, "two connections held");
      assert.equal(await rawExchange(endpoint, "GET /healthz HTTP/1.1\r\n\r\n"), "");
      assert.ok(
        lines.some((line) => /closed 1 new connections: 2 are open/.test(line)),
        lines.join("\n"),
      );
      for (const conn of idle.splice(0)) conn.close();
      await waitFor(() => endpoint.connections === 0, 5_000, "the idle ones gone");
      assert.match(
        await rawExchange(endpoint, "GET /healthz HTTP/1.1\r\n\r\n"),
        /^HTTP\/1\.1 200 /,
      );
    } finally {
      for (const conn of idle) conn.close();
      await endpoint.close();
    }
  });
});

Deno.test("close ends the connections it holds and stops listening", async () => {
  const endpoint = openEndpoint();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: endpoint.address.port });
  await waitFor(() => endpoint.connections === 1, 5_000, "the connection held");
  await within(endpoint.close(), 5_000, "close");
  assert.equal(await within(readToEnd(conn), 5_000, "the end"), "");
  conn.close();
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: endpoint.address.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("metrics that cannot be collected are a 500 and a line in the server log", async () => {
  await quietly(async (lines) => {
    const endpoint = openEndpoint({}, () => Promise.reject(new Error("no such thing")));
    try {
      const response = await fetch(url(endpoint, "/metrics"));
      assert.equal(response.status, 500);
      assert.match(await response.text(), /see the server log/);
      assert.ok(lines.some((line) => line.includes("no such thing")), lines.join("\n"));
    } finally {
      await endpoint.close();
    }
  });
});
