/**
 * The HAProxy test helper: it forwards TCP to every backend in turn, and its
 * health check takes a dead backend out of the turn.
 */

import assert from "node:assert/strict";
import { HAPROXY_MISSING, startHaproxy } from "./haproxy.ts";
import { within } from "./processes.ts";

/** A loopback listener that answers every connection with its name, then closes it. */
function startNamedListener(name: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode(name)).catch(() => {});
      conn.close();
    }
  })().catch(() => {});
  let closed = false;
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      if (!closed) listener.close();
      closed = true;
      await served;
    },
  };
}

/** Connects through the balancer; resolves to the name of the backend that answered. */
async function askThrough(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return await within(new Response(conn.readable).text(), 5_000, "a backend's name");
}

Deno.test({
  name: "haproxy forwards to both backends and routes around one its health check finds dead",
  ignore: HAPROXY_MISSING !== undefined,
  async fn() {
    const first = startNamedListener("first");
    const second = startNamedListener("second");
    await using balancer = await startHaproxy({
      backends: [{ host: "127.0.0.1", port: first.port }, {
        host: "127.0.0.1",
        port: second.port,
      }],
    });
    try {
      await balancer.waitForStates(["UP", "UP"]);
      const answers = new Set<string>();
      for (let i = 0; i < 4; i++) answers.add(await askThrough(balancer.port));
      assert.deepEqual([...answers].sort(), ["first", "second"]);

      await second.close();
      await balancer.waitForStates(["UP", "DOWN"]);
      for (let i = 0; i < 4; i++) assert.equal(await askThrough(balancer.port), "first");
    } finally {
      await first.close();
      await second.close();
    }
  },
});

/** An HTTP listener whose /healthz answers 200 while `healthy()` says so, 503 otherwise. */
function startHealthListener(healthy: () => boolean) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const ok = new URL(request.url).pathname === "/healthz" && healthy();
    return new Response(ok ? "ok" : "failing", { status: ok ? 200 : 503 });
  });
}

Deno.test({
  name:
    "haproxy's HTTP health check takes out a backend whose /healthz fails, though its port answers",
  ignore: HAPROXY_MISSING !== undefined,
  async fn() {
    const first = startNamedListener("first");
    const second = startNamedListener("second");
    let secondHealthy = true;
    await using firstHealth = startHealthListener(() => true);
    await using secondHealth = startHealthListener(() => secondHealthy);
    await using balancer = await startHaproxy({
      backends: [
        { host: "127.0.0.1", port: first.port, checkPort: firstHealth.addr.port },
        { host: "127.0.0.1", port: second.port, checkPort: secondHealth.addr.port },
      ],
      healthCheck: { httpPath: "/healthz" },
    });
    try {
      await balancer.waitForStates(["UP", "UP"]);
      secondHealthy = false;
      await balancer.waitForStates(["UP", "DOWN"]);
      for (let i = 0; i < 4; i++) assert.equal(await askThrough(balancer.port), "first");
      secondHealthy = true;
      await balancer.waitForStates(["UP", "UP"]);
    } finally {
      await first.close();
      await second.close();
    }
  },
});

if (HAPROXY_MISSING !== undefined) console.warn(`haproxy_test: ${HAPROXY_MISSING}`);
