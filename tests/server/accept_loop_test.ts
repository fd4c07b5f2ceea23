import assert from "node:assert/strict";
import { acceptConnections, type AcceptReports } from "../../src/server/accept_loop.ts";

/** A stand-in connection that records whether it was closed. */
class FakeConn {
  closed = false;
  close() {
    this.closed = true;
  }
}

/**
 * A listener whose accepts take their outcome from a script: a connection,
 * or an error to throw. When the script runs out, accept waits for `add()`,
 * or for `close()`, which makes it throw BadResource as Deno's listener does.
 */
class ScriptedListener {
  attempts = 0;
  #script: (FakeConn | Error)[];
  #waiting: PromiseWithResolvers<Deno.TcpConn> | undefined;

  constructor(script: (FakeConn | Error)[]) {
    this.#script = script;
  }

  accept(): Promise<Deno.TcpConn> {
    this.attempts++;
    const next = this.#script.shift();
    if (next instanceof Error) return Promise.reject(next);
    if (next) return Promise.resolve(next as unknown as Deno.TcpConn);
    this.#waiting = Promise.withResolvers();
    return this.#waiting.promise;
  }

  /** A connection arrives while accept waits. */
  add(conn: FakeConn) {
    this.#waiting?.resolve(conn as unknown as Deno.TcpConn);
  }

  close() {
    this.#waiting?.reject(new Deno.errors.BadResource("Listener has been closed"));
  }

  get drained(): boolean {
    return this.#script.length === 0;
  }
}

/** Records every report. */
function recorder() {
  const events: string[] = [];
  const reports: AcceptReports = {
    failing: (error) => events.push(`failing: ${(error as Error).message}`),
    recovered: (failures) => events.push(`recovered after ${failures}`),
    refused: (count, open) => events.push(`refused ${count} with ${open} open`),
  };
  return { events, reports };
}

function tooManyFiles(): Error {
  return Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/**
 * Runs the accept loop over `listener` with everything it reports recorded:
 * the connections it holds, with their release functions, and `stop()`,
 * which shuts it down as the server does and waits for it to end.
 */
function runLoop(listener: ScriptedListener, maxConnections: number) {
  const { events, reports } = recorder();
  const held: Deno.TcpConn[] = [];
  const releases: (() => void)[] = [];
  const shutdown = new AbortController();
  const loop = acceptConnections(listener as unknown as Deno.Listener<Deno.TcpConn>, {
    maxConnections,
    onConnection: (conn, release) => (held.push(conn), releases.push(release)),
    reports,
    signal: shutdown.signal,
  });
  const stop = async () => {
    shutdown.abort();
    listener.close();
    await loop;
  };
  return { events, held, releases, stop };
}

Deno.test("failed accepts are retried with backoff and reported once per run of failures", async () => {
  const served = new FakeConn();
  const listener = new ScriptedListener([tooManyFiles(), tooManyFiles(), tooManyFiles(), served]);
  const { events, held, stop } = runLoop(listener, 10);
  await until(() => held.length === 1);
  assert.deepEqual(events, ["failing: Too many open files (os error 24)", "recovered after 3"]);
  assert.equal(listener.attempts, 5, "three failures, the connection, then waiting for the next");
  assert.equal(served.closed, false);
  await stop();
});

Deno.test("connections reset before they were accepted cost no pause and no report: the next is accepted at once", async () => {
  const served = new FakeConn();
  const resets = [
    ...Array.from({ length: 100 }, () => new Deno.errors.NotConnected("os error 107")),
    new Deno.errors.ConnectionReset("os error 104"),
    new Deno.errors.ConnectionAborted("os error 103"),
  ];
  const listener = new ScriptedListener([...resets, served, tooManyFiles(), new FakeConn()]);
  const { events, held, stop } = runLoop(listener, 10);
  await until(() => held.length === 2);
  assert.deepEqual(
    events,
    ["failing: Too many open files (os error 24)", "recovered after 1"],
    "the resets are neither reported nor counted; a real failure still is",
  );
  assert.equal(listener.attempts, resets.length + 4);
  await stop();
});

Deno.test("beyond maxConnections the newest is closed at once, until a held one is released", async () => {
  const conns = Array.from({ length: 5 }, () => new FakeConn());
  const listener = new ScriptedListener(conns.slice(0, 4));
  const { events, releases, stop } = runLoop(listener, 2);
  await until(() => listener.drained && listener.attempts === 5);
  assert.deepEqual(conns.map((conn) => conn.closed), [false, false, true, true, false]);
  assert.deepEqual(events, ["refused 1 with 2 open"], "the first refusal at once, the rest later");
  releases[0]();
  releases[0](); // A second release of the same connection frees nothing more.
  listener.add(conns[4]);
  await until(() => releases.length === 3);
  assert.equal(conns[4].closed, false, "held in the room the release made");
  await stop();
  assert.deepEqual(events, ["refused 1 with 2 open", "refused 1 with 2 open"], "summed at the end");
});

Deno.test("shutdown ends the loop while it backs off after failures, without another attempt", async () => {
  const failures = Array.from({ length: 50 }, () => tooManyFiles());
  const listener = new ScriptedListener(failures);
  const { events, stop } = runLoop(listener, 1);
  await until(() => listener.attempts >= 4);
  const attempts = listener.attempts;
  await stop();
  assert.equal(listener.attempts, attempts, "no accept after the shutdown began");
  assert.deepEqual(events, ["failing: Too many open files (os error 24)"], "reported once");
});
