/**
 * The server against bad input on the wire: broken frames, slow or wrong
 * handshakes, and path attacks. After each, the server must still serve and
 * nothing outside the user's root may have been read or written.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RemoteError } from "../../src/client/errors.ts";
import { MAGIC, PROTOCOL_VERSION } from "../../src/protocol/constants.ts";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import { ChunkedSource, concatBytes } from "../protocol/memory_streams.ts";
import { decode, encode, Messages } from "../../src/protocol/messages.ts";
import { STATUS, statusName } from "../../src/protocol/status.ts";
import {
  connectRaw,
  openClient,
  runClient,
  startServer,
  type TestServer,
  USERS,
  within,
} from "../helpers/processes.ts";

/** Sends raw bytes on a fresh connection; returns the first reply's status (or "closed"). */
async function sendRaw(server: TestServer, bytes: Uint8Array, hello = false): Promise<string> {
  const conn = await connectRaw(server);
  try {
    const reader = new FrameReader(conn);
    if (hello) {
      await conn.write(encode(Messages.Hello, 0, helloValue()));
      await within(reader.next(), 10_000, "server reply");
    }
    await conn.write(bytes).catch(() => {});
    const frame = await within(reader.next(), 10_000, "server reply").catch(() => null);
    if (!frame) return "closed";
    assert.equal(frame.id, 0);
    const status = statusName(decode(Messages.Error, frame).code);
    assert.equal(
      await within(reader.next(), 10_000, "server reply").catch(() => null),
      null,
      "the server closes after refusing",
    );
    return status;
  } finally {
    conn.close();
  }
}

/**
 * The next frame that is not `Queued`: a password check slower than 1 s (a
 * loaded machine) is reported with `Queued` position 0 before `AuthOk`.
 */
async function afterQueued(reader: FrameReader, what: string) {
  for (;;) {
    const frame = await within(reader.next(), 10_000, what);
    if (frame?.type !== Messages.Queued.type) return frame;
  }
}

function helloValue(version = PROTOCOL_VERSION) {
  return { magic: MAGIC, version, software: "test", capabilities: [] };
}

async function stillServes(server: TestServer): Promise<void> {
  const result = await runClient(server, ["pwd"], { user: "bob" });
  assert.equal(result.code, 0, `server still serves: ${result.stderr}`);
}

Deno.test("broken handshakes are refused with a status and the server keeps serving", async (t) => {
  await using server = await startServer(["--login-timeout=1"]);
  const hello = encode(Messages.Hello, 0, helloValue());
  const cases: [string, Uint8Array, string][] = [
    [
      "plain garbage",
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      "PROTOCOL_ERROR",
    ],
    [
      "a length over the limit",
      new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0]),
      "PROTOCOL_ERROR",
    ],
    ["a length under the header", new Uint8Array([0, 0, 0, 2, 1, 0]), "PROTOCOL_ERROR"],
    [
      "Auth before Hello",
      encode(Messages.Auth, 0, { user: "alice", password: "x" }),
      "PROTOCOL_ERROR",
    ],
    ["a wrong magic", encode(Messages.Hello, 0, { ...helloValue(), magic: 1 }), "PROTOCOL_ERROR"],
    ["a future version", encode(Messages.Hello, 0, helloValue(99)), "UNSUPPORTED_VERSION"],
    ["Hello with trailing bytes", new Uint8Array([...patchLength(hello, 1), 0]), "PROTOCOL_ERROR"],
    ["a truncated Hello, then silence", hello.subarray(0, hello.length - 3), "TIMEOUT"],
    ["nothing at all", new Uint8Array(), "TIMEOUT"],
  ];
  for (const [name, bytes, expected] of cases) {
    await t.step(name, async () => {
      assert.equal(await sendRaw(server, bytes), expected);
      await stillServes(server);
    });
  }
  await t.step("a connection closed mid-frame is dropped quietly", async () => {
    const conn = await connectRaw(server);
    await conn.write(hello.subarray(0, 6));
    conn.close();
    await stillServes(server);
  });
});

/** A copy of `frame` whose length field claims `extra` more bytes. */
function patchLength(frame: Uint8Array, extra: number): Uint8Array {
  const copy = frame.slice();
  new DataView(copy.buffer).setUint32(0, frame.length - 4 + extra);
  return copy;
}

Deno.test("a broken frame after login ends that session with PROTOCOL_ERROR only", async () => {
  await using server = await startServer();
  const conn = await connectRaw(server);
  const reader = new FrameReader(conn);
  await conn.write(encode(Messages.Hello, 0, helloValue()));
  await within(reader.next(), 10_000, "server reply");
  await conn.write(encode(Messages.Auth, 0, { user: "alice", password: USERS.alice }));
  assert.equal((await afterQueued(reader, "server reply"))?.type, Messages.AuthOk.type);
  await conn.write(encode(Messages.Welcome, 7, {
    version: 1,
    serverName: "x",
    capabilities: [],
    maxFrameSize: 1,
    chunkSize: 1,
  }));
  const reply = await within(reader.next(), 10_000, "server reply");
  assert.equal(reply?.id, 0);
  assert.equal(decode(Messages.Error, reply!).code, STATUS.PROTOCOL_ERROR);
  assert.equal(await within(reader.next(), 10_000, "server reply").catch(() => null), null);
  conn.close();
  assert.equal((await runClient(server, ["pwd"])).code, 0, "alice may log in again at once");
});

Deno.test("replies to a burst of pipelined requests leave in one write, not one each", async () => {
  // The server's TLS socket keeps Nagle's algorithm on (Deno cannot turn it off), so a second
  // small write would wait for the client's delayed ACK: 40 ms per burst on Linux.
  await using server = await startServer();
  const conn = await connectRaw(server);
  try {
    const reader = new FrameReader(conn);
    await conn.write(encode(Messages.Hello, 0, helloValue()));
    await within(reader.next(), 10_000, "Welcome");
    await conn.write(encode(Messages.Auth, 0, { user: "alice", password: USERS.alice }));
    assert.equal((await afterQueued(reader, "AuthOk"))?.type, Messages.AuthOk.type);
    const burst = Array.from(
      { length: 16 },
      (_, index) => encode(Messages.Stat, index + 1, { path: "/" }),
    );
    await conn.write(concatBytes(...burst));
    // Read raw bytes: the first TLS record must hold all 16 Attributes replies.
    const buffer = new Uint8Array(64 * 1024);
    const first = await within(conn.read(buffer), 10_000, "the replies");
    const replies = new FrameReader(new ChunkedSource(buffer.slice(0, first ?? 0)));
    const ids: number[] = [];
    for (let frame = await replies.next(); frame; frame = await replies.next()) ids.push(frame.id);
    assert.deepEqual(ids, burst.map((_, index) => index + 1));
  } finally {
    conn.close();
  }
});

Deno.test("path attacks are refused or stay inside the user's root", async (t) => {
  await using server = await startServer();
  const outside = join(server.dir, "outside");
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(outside, "secret.txt"), "not yours");
  const connection = await openClient(server);
  const root = join(server.storageDir, "alice");
  await Deno.symlink(outside, join(root, "escape"));
  const status = (promise: Promise<unknown>) =>
    promise.then(
      () => "ok",
      (error) => error instanceof RemoteError ? error.status : String(error),
    );
  try {
    const refused: [string, string][] = [
      ["a\u0000b", "INVALID_PATH"],
      ["line\nbreak", "INVALID_PATH"],
      ["tab\there", "INVALID_PATH"],
      ["..\\..\\outside", "INVALID_PATH"],
      ["x".repeat(256), "INVALID_PATH"],
      ["/.dfos/partial", "PERMISSION_DENIED"],
      ["escape/secret.txt", "PERMISSION_DENIED"],
      ["escape", "PERMISSION_DENIED"],
      ["/escape/../escape/secret.txt", "PERMISSION_DENIED"],
    ];
    for (const [path, expected] of refused) {
      await t.step(`${JSON.stringify(path.slice(0, 40))} → ${expected}`, async () => {
        assert.equal(await status(connection.stat(path)), expected);
        assert.equal(await status(connection.list(path)), expected);
        assert.equal(await status(connection.remove(path, true)), expected);
        assert.equal(await status(connection.mkdir(`${path}/new`, true)), expected);
      });
    }
    const clamped = [
      "../../../outside/secret.txt",
      "/../outside/secret.txt",
      "a/../../outside/secret.txt",
      "./../outside/secret.txt",
      "%2e%2e/outside/secret.txt",
      "\uff0e\uff0e/outside/secret.txt",
    ];
    for (const path of clamped) {
      await t.step(`${path} stays inside (NOT_FOUND)`, async () => {
        assert.equal(await status(connection.stat(path)), "NOT_FOUND");
      });
    }
    await t.step("renames cannot move files out through .. or the planted link", async () => {
      await connection.mkdir("/inside", false);
      assert.equal(await status(connection.rename("/inside", "../../moved", false)), "ok");
      assert.deepEqual((await connection.list("/")).map((entry) => entry.name), [
        "escape",
        "moved",
      ]);
      assert.equal(
        await status(connection.rename("/moved", "/escape/moved", false)),
        "PERMISSION_DENIED",
      );
    });
  } finally {
    await connection.close();
  }
  assert.deepEqual([...Deno.readDirSync(outside)].map((entry) => entry.name), ["secret.txt"]);
  assert.equal(await Deno.readTextFile(join(outside, "secret.txt")), "not yours");
  assert.deepEqual([...Deno.readDirSync(server.dir)].map((entry) => entry.name).sort(), [
    "known_hosts",
    "logs",
    "outside",
    "server_state",
    "storage",
    "users.txt",
  ]);
});
