/**
 * The control socket's protocol end to end in one process: the server's
 * handlers table and bounds, and the asking side's waits and failures.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type ControlHandlers, ControlServer } from "../../src/control/control_server.ts";
import {
  connectFailure,
  ControlClientError,
  requestStatus,
  requestStop,
} from "../../src/control/control_client.ts";
import { MAX_CONTROL_CONNECTIONS, MAX_REQUEST_BYTES } from "../../src/control/control_protocol.ts";
import { buildStatus } from "../../src/control/status_report.ts";
import { SessionRegistry } from "../../src/server/session_registry.ts";
import { bindControlSocket } from "../../src/control/socket_file.ts";

const STATUS = buildStatus({
  registry: new SessionRegistry({ now: () => 0 }),
  metrics: { bytesIn: 1, bytesOut: 2, transfersCompleted: 3, queued: 4 },
  pid: 42,
  version: "test",
  host: "127.0.0.1",
  port: 1,
  maxClients: 10,
  maxQueue: 5,
  stopping: false,
}, 5_000);

/** A control server on a fresh socket, serving `handlers`; disposal closes it and its folder. */
async function controlServer(handlers: Partial<ControlHandlers> = {}, timeoutMs?: number) {
  const dir = await Deno.makeTempDir({ prefix: "dfos-control-" });
  const path = join(dir, "state", "control.sock");
  const server = await ControlServer.open(path, { timeoutMs });
  server.serve({
    status: () => STATUS,
    stop: () => ({ alreadyStopping: false }),
    graceMs: 2_000,
    ...handlers,
  });
  return {
    server,
    path,
    dir,
    async [Symbol.asyncDispose]() {
      await server.close();
      server.disconnect();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A raw connection that sends `text` and collects what comes back until the server closes. */
async function exchange(path: string, text: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    if (text) await conn.write(new TextEncoder().encode(text)).catch(() => 0);
    let received = "";
    for await (const chunk of conn.readable) received += new TextDecoder().decode(chunk);
    return received;
  } catch {
    return "";
  }
}

function failure(kind: string, pattern: RegExp) {
  return (error: Error) =>
    error instanceof ControlClientError && error.failure === kind && pattern.test(error.message);
}

Deno.test("status is answered with what the handler reports", async () => {
  await using control = await controlServer();
  assert.deepEqual(await requestStatus(control.path), STATUS);
});

Deno.test("stop begins the shutdown, says so, then says `stopped` at the end and holds the connection until the process goes", async () => {
  let stops = 0;
  await using control = await controlServer({
    stop: () => ({ alreadyStopping: stops++ > 0 }),
  });
  const conn = await Deno.connect({ transport: "unix", path: control.path });
  await conn.write(new TextEncoder().encode('{"request":"stop"}\n'));
  const lines = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
  const first = JSON.parse((await lines.read()).value!);
  assert.deepEqual(first, {
    ok: true,
    stopping: true,
    pid: Deno.pid,
    graceSeconds: 2,
    alreadyStopping: false,
  });
  assert.equal(stops, 1);
  await control.server.close();
  assert.deepEqual(JSON.parse((await lines.read()).value!), { ok: true, stopped: true });
  await assert.rejects(Deno.lstat(control.path), Deno.errors.NotFound, "the socket is removed");
  const end = lines.read();
  control.server.disconnect(); // What the process's exit does.
  assert.equal((await end).done, true);
});

Deno.test("stop resolves once the server said `stopped` and its end of the connection closed", async () => {
  await using control = await controlServer();
  const heard: string[] = [];
  const stopped = requestStop(control.path, {
    onStopping: (reply) => {
      heard.push(`stopping ${reply.pid}`);
      control.server.close().then(() => {
        heard.push("closed");
        control.server.disconnect();
      });
    },
  });
  const reply = await stopped;
  heard.push("resolved");
  assert.equal(reply.pid, Deno.pid);
  assert.deepEqual(heard, [`stopping ${Deno.pid}`, "closed", "resolved"]);
});

Deno.test("a server that says it stopped but does not exit within the wait fails the stop as not stopped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-control-" });
  const bound = await bindControlSocket(join(dir, "control.sock"));
  const lingering = (async () => {
    const conn = await bound.listener.accept();
    await conn.read(new Uint8Array(64));
    const stopping = { ok: true, stopping: true, pid: 7, graceSeconds: 0, alreadyStopping: false };
    await conn.write(
      new TextEncoder().encode(`${JSON.stringify(stopping)}\n{"ok":true,"stopped":true}\n`),
    );
    return conn; // Kept open: the process "does not exit".
  })();
  try {
    await assert.rejects(
      requestStop(bound.path, { timeoutMs: 300 }),
      failure("not-stopped", /pid 7\) has not stopped within 0 s/),
    );
  } finally {
    (await lingering).close();
    await bound.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a request that is not JSON, an unknown one, or one too long is answered with an error, and nothing is done", async () => {
  let stops = 0;
  await using control = await controlServer({
    stop: () => {
      stops++;
      return { alreadyStopping: false };
    },
  });
  const reply = async (text: string) => JSON.parse(await exchange(control.path, text));
  assert.deepEqual(await reply("stop please\n"), {
    ok: false,
    error: "a request is one JSON object on one line",
  });
  assert.deepEqual(await reply('{"request":"format-disk"}\n'), {
    ok: false,
    error: 'unknown request "format-disk"; known: status, stop',
  });
  assert.deepEqual(await reply(`{"request":"stop","pad":"${"x".repeat(MAX_REQUEST_BYTES)}"}\n`), {
    ok: false,
    error: `a line is longer than ${MAX_REQUEST_BYTES} bytes`,
  });
  assert.equal(stops, 0);
});

Deno.test("a peer that sends nothing is cut off after the timeout, and the server keeps answering", async () => {
  await using control = await controlServer({}, 100);
  assert.equal(await exchange(control.path, ""), "", "closed without a reply");
  assert.deepEqual(await requestStatus(control.path), STATUS);
});

Deno.test(`beyond ${MAX_CONTROL_CONNECTIONS} open connections a new one is closed at once; the open ones are served`, async () => {
  await using control = await controlServer();
  const idle = [];
  for (let index = 0; index < MAX_CONTROL_CONNECTIONS; index++) {
    idle.push(await Deno.connect({ transport: "unix", path: control.path }));
  }
  try {
    assert.equal(await exchange(control.path, '{"request":"status"}\n'), "");
    await idle[0].write(new TextEncoder().encode('{"request":"status"}\n'));
    const answer = await idle[0].readable.pipeThrough(new TextDecoderStream()).getReader().read();
    assert.deepEqual(JSON.parse(answer.value!).status, STATUS);
  } finally {
    for (const conn of idle.slice(1)) conn.close();
  }
});

Deno.test("asking where no server runs, or where a file or a stale socket is, fails with the kind of failure and why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-control-" });
  try {
    const missing = join(dir, "control.sock");
    await assert.rejects(
      requestStatus(missing),
      failure("not-running", /there is no .*control\.sock/),
    );
    await Deno.writeTextFile(missing, "");
    await assert.rejects(
      requestStatus(missing),
      failure("not-a-socket", /is a file, not a control socket/),
    );
    await Deno.remove(missing);
    const stale = await bindControlSocket(missing);
    stale.listener.close();
    await assert.rejects(requestStatus(missing), failure("not-running", /nothing answers on/));
    assert.ok(
      failure("denied", /permission denied: .* is for the user the server runs as/)(
        connectFailure(missing, new Deno.errors.PermissionDenied("EACCES")),
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
