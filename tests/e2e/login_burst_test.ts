/**
 * Many logins at once against a real server on loopback: they queue behind
 * the password checks (scrypt, one per core), which must neither trip the
 * login deadline, meant for peers that send slowly, nor make the client give
 * up, while slow senders are still cut and an overlong queue is refused
 * promptly with a clear status.
 */

import assert from "node:assert/strict";
import { decode, encode, Messages } from "../../src/protocol/messages.ts";
import { STATUS, statusName } from "../../src/protocol/status.ts";
import {
  helloFrame,
  nextFrame,
  openTls,
  type RawSession,
  readToEnd,
  sendQuietly,
} from "../helpers/hostile.ts";
import {
  dfosCommand,
  openClient,
  readAudit,
  startServer,
  type TestServer,
  USERS,
} from "../helpers/processes.ts";

/** Logs in as alice with the real client; resolves to how long it took and whether it heard `Queued`. */
async function clientLogin(server: TestServer, timeoutMs: number) {
  const started = performance.now();
  const heard: number[] = [];
  const connection = await openClient(server, {
    timeoutMs,
    onQueued: (position) => heard.push(position),
  });
  return { connection, ms: performance.now() - started, heard };
}

/** A TLS connection that has sent `Hello` and received `Welcome`. */
async function greeted(server: TestServer): Promise<RawSession> {
  const session = await openTls(server);
  await sendQuietly(session, helloFrame());
  const welcome = await nextFrame(session, 15_000, "Welcome");
  assert.equal(welcome.type, Messages.Welcome.type);
  return session;
}

/** Sends `bytes` one byte every `everyMs` until done or told to stop. */
async function trickle(
  session: RawSession,
  bytes: Uint8Array,
  everyMs: number,
  going: () => boolean,
) {
  for (let at = 0; at < bytes.length && going(); at++) {
    if (!await sendQuietly(session, bytes.subarray(at, at + 1))) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

Deno.test("100 logins at once all get in although their password checks queue past --login-timeout and the client's --timeout; slow senders are still cut at the deadline", async () => {
  const logins = 100;
  const clientTimeoutMs = 3_000;
  // Defaults but for a 2 s login deadline (100 TLS handshakes at once must fit in it even on a
  // loaded machine; 100 checks on two cores take about 5 s), and room for every login.
  // Every login is checked (no --login-cache): the checks must queue for this test.
  await using server = await startServer([
    "--no-login-cache",
    "--login-timeout=2",
    `--max-clients=${logins + 2}`,
    `--max-sessions-per-user=${logins}`,
  ]);
  let going = true;
  const auth = encode(Messages.Auth, 0, { user: "alice", password: USERS.alice });
  // Opened as the burst starts; each is read to its end meanwhile, timing when it was cut.
  const slowPeers = [
    greeted(server).then((session) => {
      void trickle(session, auth, 200, () => going);
      return { what: "Auth sent a byte every 0.2 s", session };
    }),
    openTls(server).then((session) => ({ what: "no Hello after the TLS handshake", session })),
  ].map((opened) =>
    opened.then(async ({ what, session }) => {
      const started = performance.now();
      const ending = await readToEnd(session, 20_000, what);
      session.close();
      return { what, ending, cutAfterMs: performance.now() - started };
    })
  );
  // And the CLI, with the same short --timeout and without --quiet, so it says that it waits.
  const cliStarted = performance.now();
  const cli = dfosCommand([
    "client",
    "--host=127.0.0.1",
    `--port=${server.port}`,
    "--user=bob",
    `--known-hosts=${server.knownHosts}`,
    `--timeout=${clientTimeoutMs / 1000}`,
    "pwd",
  ], { env: { DFOS_PASSWORD: USERS.bob }, signal: AbortSignal.timeout(120_000) }).output()
    // When it ended, not when this test gets round to looking (after the whole burst).
    .then((output) => ({ ...output, cliMs: performance.now() - cliStarted }));
  const started = performance.now();
  const settled = await Promise.allSettled(
    Array.from({ length: logins }, () => clientLogin(server, clientTimeoutMs)),
  );
  const elapsed = performance.now() - started;
  try {
    const failures = settled.flatMap((result) =>
      result.status === "rejected" ? [String(result.reason?.message ?? result.reason)] : []
    );
    assert.deepEqual(failures, [], `${failures.length} of ${logins} logins failed`);
    const done = settled.flatMap((result) => result.status === "fulfilled" ? [result.value] : []);
    const slowest = Math.max(...done.map((login) => login.ms));
    console.log(
      `${logins} logins at once: all in after ${Math.round(elapsed)} ms (slowest ${
        Math.round(slowest)
      } ms); ${done.filter((login) => login.heard.length > 0).length} were told they were waiting`,
    );
    // With more than enough slots, every Queued is about the password check: the server was
    // still working on those logins 1 s after their Auth arrived (the first progress report).
    assert.ok(
      done.some((login) => login.heard.length > 0),
      "some logins waited longer than --login-timeout for their check, and were told so",
    );
    assert.ok(
      done.every((login) => login.heard.every((position) => position === 0)),
      "position 0: a report on the password check, not a place in the slot queue",
    );
    const { code, stdout, stderr, cliMs } = await cli;
    const cliErr = new TextDecoder().decode(stderr);
    assert.equal(code, 0, cliErr);
    assert.equal(new TextDecoder().decode(stdout), "/\n");
    // Its login may have been checked early in the burst (the process starts while the others
    // queue); one that took long enough to be told it waits must have said so, in these words.
    assert.match(
      cliErr,
      /^(dfos: server busy: (waiting for the password check \(place \d+ in line\)|checking the password)\n)*$/,
    );
    if (cliMs > 4_000) {
      assert.notEqual(cliErr, "", `the CLI took ${Math.round(cliMs)} ms, silently`);
    }
    // Everyone is served, not only logged in.
    const roots = await Promise.all(done.map((login) => login.connection.stat("/")));
    assert.ok(roots.every((root) => root.path === "/"));
    await Promise.all(done.map((login) => login.connection.close()));
    for (const { what, ending, cutAfterMs } of await Promise.all(slowPeers)) {
      const status = ending.error ? statusName(ending.error.code) : "closed without Error";
      assert.equal(ending.error?.code, STATUS.TIMEOUT, `${what}: ${status}`);
      assert.deepEqual(ending.frames.map((frame) => frame.type), [], `${what}: no AuthOk`);
      assert.ok(
        cutAfterMs < 5_000,
        `${what}: cut after ${Math.round(cutAfterMs)} ms; the deadline is 2 s`,
      );
    }
  } finally {
    going = false;
    for (const result of settled) {
      if (result.status === "fulfilled") await result.value.connection.close();
    }
  }
});

Deno.test("logins that could not be checked within --max-check-wait are told at once that the server is busy, which locks nobody out", async () => {
  const logins = 60;
  await using server = await startServer([
    "--no-login-cache",
    "--max-check-wait=0.5",
    `--max-clients=${logins}`,
    `--max-sessions-per-user=${logins}`,
    "--max-login-failures=3",
    "--max-login-failures-per-address=3",
  ]);
  const auth = encode(Messages.Auth, 0, { user: "alice", password: USERS.alice });
  const sessions = await Promise.all(Array.from({ length: logins }, () => greeted(server)));
  const outcomes = await Promise.all(sessions.map(async (session) => {
    const sent = performance.now();
    await sendQuietly(session, auth);
    const reply = await nextFrame(session, 15_000, "the answer to Auth");
    const ms = performance.now() - sent;
    if (reply.type === Messages.AuthOk.type) return { ok: true, ms, code: 0, message: "" };
    assert.equal(reply.type, Messages.Error.type);
    return { ok: false, ms, ...decode(Messages.Error, reply) };
  }));
  for (const session of sessions) session.close();
  const refused = outcomes.filter((outcome) => !outcome.ok);
  const atOnce = refused.filter((outcome) =>
    /^server busy: \d+ logins are waiting for a password check \(at least \d+ s\); try again later$/
      .test(outcome.message)
  );
  console.log(
    `${logins} logins at once, 0.5 s bound: ${
      logins - refused.length
    } in, ${refused.length} busy (${atOnce.length} at once, fastest in ${
      Math.round(Math.min(...atOnce.map((outcome) => outcome.ms)))
    } ms); slowest answer ${Math.round(Math.max(...outcomes.map((outcome) => outcome.ms)))} ms`,
  );
  assert.ok(refused.length < logins, "the logins at the front are served");
  assert.deepEqual(
    [...new Set(refused.map((outcome) => statusName(outcome.code)))],
    ["SERVER_BUSY"],
    "every refusal says the server is busy",
  );
  assert.ok(atOnce.length > 0, "logins far back in the queue are refused as soon as they arrive");
  assert.ok(
    Math.min(...atOnce.map((outcome) => outcome.ms)) < 500,
    "a refusal at once comes before the bound, not after waiting it out",
  );
  const audit = (await readAudit(server)).filter((event) => event.event === "login");
  assert.equal(
    audit.filter((event) => event.result === "refused: server busy").length,
    refused.length,
  );
  assert.equal(audit.filter((event) => event.result === "failed").length, 0);
  const after = await clientLogin(server, 15_000);
  assert.ok(after.connection, "alice is not locked out by the busy refusals");
  await after.connection.close();
});
