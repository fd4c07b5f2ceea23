/**
 * One server fed malformed, truncated and oversized frames, random bytes,
 * mutated valid frames and slow handshakes, while bob keeps uploading and
 * downloading. A broken frame must end only the connection that sent it
 * (PROTOCOL.md §7), nothing may hang, nothing outside alice's root may be
 * read or written, and the server must exit 0 on SIGTERM. Path attacks and
 * cut connections are in hostile_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_FRAME_SIZE, MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { encode, Messages, type MessageSpec } from "../../src/protocol/messages.ts";
import { STATUS, statusName } from "../../src/protocol/status.ts";
import { runClient, startServer, USERS, within } from "../helpers/processes.ts";
import { seededBytes, sha256, sha256File } from "../helpers/files.ts";
import {
  type Arena,
  completeStream,
  concatBytes,
  dataFrame,
  digest,
  drainUntilClosed,
  helloFrame,
  hex,
  inPool,
  loginRaw,
  Mulberry32,
  mutateBytes,
  nextFrame,
  openArena,
  openTls,
  PARTIAL_CLIENT_HELLO,
  rawFrame,
  type RawSession,
  readToEnd,
  sendQuietly,
  sendWithProbe,
  stringField,
  Tally,
} from "../helpers/hostile.ts";

const SEED = 0x5eed;
const RANDOM_BEFORE_HELLO = 200;
const RANDOM_INSTEAD_OF_TLS = 20;
/** Each costs a login (one scrypt): the budget is set by those. */
const RANDOM_AFTER_LOGIN = 60;
const BYTE_MUTATIONS = 140;
const FIELD_MUTATIONS = 360;
/** Parallel logged-in attackers; the server lets alice have this many sessions. */
const WORKERS = 4;
const PROBE_ID = 0x7fff0000;

const readAt = (id: number, offset: number, path = "/big.bin") =>
  encode(Messages.Read, id, { path, offset, length: 0, ifSize: 0, ifMtimeMs: 0 });
const read = (id: number, path?: string) => readAt(id, 0, path);
const write = (id: number, path: string, size: number) =>
  encode(Messages.Write, id, { path, size, mtimeMs: 1e12, overwrite: true, resume: false });
const dataEnd = (id: number, bytes: Uint8Array) =>
  encode(Messages.DataEnd, id, { sha256: digest(bytes) });
const U64S = (count: number) => Array(8 * count).fill(0);
const U64_2_53 = [0, 0x20, 0, 0, 0, 0, 0, 0];
const U64_MAX = Array(8).fill(0xff);
const { List, Stat, Mkdir, Rename, Read, Write, Cancel, Ok } = MESSAGE_TYPE;

/** Frames after login that must end the session with Error id 0 PROTOCOL_ERROR, then a close. */
const BROKEN_FRAMES: [string, Uint8Array][] = [
  ["a List with a trailing byte", rawFrame(List, 1, [...stringField("/"), 0])],
  ["a Read whose last u64 is cut short", rawFrame(Read, 1, read(1).subarray(9, -3))],
  ["a Stat whose string length points past the end", rawFrame(Stat, 1, [0, 16, 0x2f])],
  ["an empty Stat", rawFrame(Stat, 1, [])],
  ["an unknown type byte 0x7f", rawFrame(0x7f, 1, [])],
  ["a type byte 0x00", rawFrame(0, 1, [])],
  ["a Data for an id with no upload", dataFrame(77, seededBytes(100, 1))],
  ["a DataEnd without a Write", dataEnd(78, new Uint8Array())],
  ["a length field of 0xFFFFFFFF", Uint8Array.of(0xff, 0xff, 0xff, 0xff, List, 0, 0, 0, 1)],
  ["a length field of MAX_FRAME_SIZE + 1", Uint8Array.of(0, 0x11, 0, 1, List, 0, 0, 0, 1)],
  ["a length field of 4, shorter than a header", Uint8Array.of(0, 0, 0, 4, List, 0, 0, 0)],
  ["invalid UTF-8 in a path", rawFrame(Stat, 1, stringField([0xc3, 0x28]))],
  [
    "an overlong UTF-8 encoding of ../",
    rawFrame(Stat, 1, stringField([0xc0, 0xae, 0xc0, 0xae, 0x2f])),
  ],
  ["a UTF-8 encoded lone surrogate", rawFrame(List, 1, stringField([0xed, 0xa0, 0x80]))],
  ["a bool byte of 2 in Mkdir", rawFrame(Mkdir, 1, [...stringField("/b"), 2])],
  [
    "a bool byte of 0xff in Rename",
    rawFrame(Rename, 1, [...stringField("/a"), ...stringField("/b"), 0xff]),
  ],
  ["a path of 4097 bytes", rawFrame(Stat, 1, stringField("a".repeat(4097)))],
  [
    "a path of 4097 bytes ending in a 2-byte character",
    rawFrame(Mkdir, 1, [...stringField("a".repeat(4095) + "é"), 1]),
  ],
  ["a Read offset of 2^53", rawFrame(Read, 1, [...stringField("/x"), ...U64_2_53, ...U64S(3)])],
  [
    "a Write size of 2^64 - 1",
    rawFrame(Write, 1, [...stringField("/w"), ...U64_MAX, ...U64S(1), 0, 0]),
  ],
  ["a Hello after login", helloFrame()],
  ["an Auth after login", encode(Messages.Auth, 0, { user: "alice", password: USERS.alice })],
  ["a reply type (Ok) sent by the client", rawFrame(Ok, 1, [])],
  ["a Cancel with a payload byte", rawFrame(Cancel, 1, [0])],
  [
    "a List of exactly MAX_FRAME_SIZE with trailing bytes",
    rawFrame(List, 1, [...stringField("/"), ...new Uint8Array(MAX_FRAME_SIZE - 8)]),
  ],
  [
    "a Write reusing the id of an upload in progress",
    concatBytes(write(5, "/w1", 10), write(5, "/w2", 10)),
  ],
  ["a Read reusing the id of a download still streaming", concatBytes(read(6), read(6))],
  ["a Data with the id of a download", concatBytes(read(7), dataFrame(7, new Uint8Array(4)))],
  [
    "a frame cut short by the end of the stream",
    rawFrame(List, 1, stringField("/")).subarray(0, 7),
  ],
];

const FOUR = seededBytes(4, 5);
/** Well-formed requests that fail: an Error with their id (or nothing), and the session goes on. */
const FAILED_OPERATIONS: [string, Uint8Array, number, string | undefined][] = [
  ["a Read starting past the end", readAt(11, 1e12), 11, "BAD_REQUEST"],
  [
    "Data beyond the announced size, then more Data and DataEnd",
    concatBytes(
      write(12, "/small", 4),
      dataFrame(12, seededBytes(10, 1)),
      dataFrame(12, FOUR),
      dataEnd(12, FOUR),
    ),
    12,
    "TOO_LARGE",
  ],
  [
    "a DataEnd with a wrong digest",
    concatBytes(write(13, "/small", 4), dataFrame(13, FOUR), dataEnd(13, new Uint8Array())),
    13,
    "CHECKSUM_MISMATCH",
  ],
  [
    "a DataEnd before all bytes arrived",
    concatBytes(write(14, "/small", 4), dataFrame(14, FOUR.subarray(0, 2)), dataEnd(14, FOUR)),
    14,
    "BAD_REQUEST",
  ],
  [
    "a Rename of a folder into itself",
    concatBytes(
      encode(Messages.Mkdir, 15, { path: "/self", parents: true }),
      encode(Messages.Rename, 16, { from: "/self", to: "/self/in", overwrite: false }),
    ),
    16,
    "BAD_REQUEST",
  ],
  ["a Write to the root", write(17, "/", 1), 17, "IS_A_DIRECTORY"],
  [
    "a Cancel of an upload, then more Data and DataEnd",
    concatBytes(
      write(18, "/cancelled", 100),
      dataFrame(18, FOUR),
      encode(Messages.Cancel, 18, {}),
      dataFrame(18, FOUR),
      dataEnd(18, FOUR),
    ),
    18,
    "CANCELLED",
  ],
  ["a Cancel of an id that is no transfer", encode(Messages.Cancel, 19, {}), 19, undefined],
];

/** Logs alice in, runs `act`, and closes the connection whatever happens. */
async function asAlice<T>(arena: Arena, act: (session: RawSession) => Promise<T>): Promise<T> {
  const session = await loginRaw(arena.server, "alice", 20_000);
  try {
    return await act(session);
  } finally {
    session.close();
  }
}

/** Random bytes on a fresh TLS connection before Hello; the server must refuse or close. */
async function randomBeforeHello(arena: Arena, index: number): Promise<void> {
  const rng = new Mulberry32(SEED + index);
  const bytes = rng.bytes(rng.between(1, 4096));
  const session = await openTls(arena.server);
  try {
    await sendQuietly(session, bytes);
    if (completeStream(bytes).length > bytes.length) {
      await (session.conn as Deno.TlsConn).closeWrite().catch(() => {});
    }
    const ending = await readToEnd(session, 20_000, `random connection ${index} before Hello`);
    assert.deepEqual(ending.frames, [], `connection ${index}: no reply but a refusal`);
    assert.ok(!ending.error || ending.error.code === STATUS.PROTOCOL_ERROR, `connection ${index}`);
  } finally {
    session.close();
  }
}

/** Random bytes on plain TCP where a TLS ClientHello belongs; the server must close. */
async function randomInsteadOfTls(arena: Arena, index: number): Promise<void> {
  const rng = new Mulberry32(SEED * 3 + index);
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: arena.server.port });
  try {
    await tcp.write(rng.bytes(rng.between(1, 4096))).catch(() => 0);
    await within(drainUntilClosed(tcp), 20_000, `plain connection ${index}`);
  } finally {
    tcp.close();
  }
}

const FRAME_TYPES = [...Object.values(MESSAGE_TYPE), 0x00, 0x08, 0x17, 0x33, 0x7f, 0x87, 0xff];

/** Random bytes (index divisible by 3) or a frame of a random type with a random payload. */
function randomAfterLogin(index: number): Uint8Array {
  const rng = new Mulberry32(SEED * 2 + index);
  if (index % 3 === 0) return rng.bytes(rng.between(1, 4096));
  const frame = rawFrame(rng.pick(FRAME_TYPES), rng.between(1, 0xffff), rng.bytes(rng.below(80)));
  return concatBytes(frame, rng.bytes(rng.below(3) === 0 ? rng.below(64) : 0));
}

// deno-lint-ignore no-explicit-any
type AnySpec = MessageSpec<any>;
/** A valid request of every type: the byte mutations edit them, the field mutations their values. */
const REQUESTS: [AnySpec, Record<string, unknown>][] = [
  [Messages.List, { path: "/dir" }],
  [Messages.Stat, { path: "/file.txt" }],
  [Messages.Mkdir, { path: "/m/n", parents: true }],
  [Messages.Rmdir, { path: "/m/n" }],
  [Messages.Remove, { path: "/m", recursive: true }],
  [Messages.Rename, { from: "/dir/a.txt", to: "/dir/b.txt", overwrite: true }],
  [Messages.Chdir, { path: "/dir" }],
  [Messages.Read, { path: "/file.txt", offset: 0, length: 0, ifSize: 0, ifMtimeMs: 0 }],
  [Messages.Write, { path: "/w.txt", size: 5, mtimeMs: 1e12, overwrite: true, resume: true }],
];
const SEQUENCE = seededBytes(16, 6);
/** What the byte mutations edit: each request, and transfer sequences; single frames marked true. */
const BYTE_BASES: [string, Uint8Array, boolean][] = [
  ...REQUESTS.map(([spec, value], index): [string, Uint8Array, boolean] => [
    spec.name,
    encode(spec, index + 1, value),
    true,
  ]),
  ["Cancel", encode(Messages.Cancel, 12, {}), true],
  [
    "Write, Data, DataEnd",
    concatBytes(write(10, "/sequence.bin", 16), dataFrame(10, SEQUENCE), dataEnd(10, SEQUENCE)),
    false,
  ],
  ["Read, Cancel", concatBytes(read(11, "/file.txt"), encode(Messages.Cancel, 11, {})), false],
];
const PATH_VALUES =
  ("/ . .. ../.. //// /.dfos /.dfos/partial link link/secret.txt link/../link/secret.txt " +
    "link/sub/deep.txt /file.txt /dir /dir/a.txt /big.bin /m/n /w.txt %2e%2e \uff0e\uff0e ..\u2215x " +
    "a\u0000b a\\b a\nb /dir/../../../file.txt").split(" ").concat([
      "",
      "x".repeat(255),
      "x".repeat(256),
    ]);
const NUMBER_VALUES = [0, 1, 5, 255, 65536, 65537, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 1e12];

/** A well-formed request with one or two fields replaced by edge values. */
function mutateFields(rng: Mulberry32, id: number): Uint8Array {
  const [spec, base] = rng.pick(REQUESTS);
  const value = { ...base };
  for (let edits = rng.between(1, 2); edits > 0; edits--) {
    const name = rng.pick(Object.keys(value));
    const old = value[name];
    value[name] = typeof old === "string"
      ? rng.pick(PATH_VALUES)
      : typeof old === "number"
      ? rng.pick(NUMBER_VALUES)
      : !old;
  }
  return encode(spec, id, value);
}

/** One attacker: mutations `worker`, `worker + WORKERS`, …, on a session kept while it survives. */
async function mutationWorker(arena: Arena, worker: number, tally: Tally): Promise<void> {
  let session: RawSession | undefined;
  try {
    for (let index = worker; index < BYTE_MUTATIONS + FIELD_MUTATIONS; index += WORKERS) {
      const rng = new Mulberry32(SEED * 5 + index);
      let bytes: Uint8Array;
      let label: string;
      if (index < BYTE_MUTATIONS) {
        const [name, base, single] = rng.pick(BYTE_BASES);
        bytes = mutateBytes(base, rng, single);
        label = `byte mutation ${index} of ${name} (${hex(bytes)})`;
      } else {
        bytes = mutateFields(rng, 1000 + index);
        label = `field mutation ${index} (${hex(bytes)})`;
      }
      session ??= await loginRaw(arena.server, "alice", 20_000);
      const result = await sendWithProbe(session, bytes, PROBE_ID + index, 20_000)
        .catch((error) => Promise.reject(new Error(`${label}: ${error.message}`)));
      tally.add(label, result);
      if (!result.served) {
        session.close();
        session = undefined;
      }
    }
  } finally {
    session?.close();
  }
}

/** Opens `count` TLS connections, each prepared by `start`. */
function openMany(arena: Arena, count: number, start: (session: RawSession) => unknown) {
  return Promise.all(Array.from({ length: count }, async () => {
    const session = await openTls(arena.server);
    await start(session);
    return session;
  }));
}

/** 40 connections that never finish logging in; they must be dropped, not block alice. */
async function slowHandshakes(arena: Arena): Promise<void> {
  const hello = helloFrame();
  const opened = performance.now();
  let trickling = true;
  const trickle = async (session: RawSession) => {
    for (let at = 0; trickling && at < hello.length; at++) {
      await sendQuietly(session, hello.subarray(at, at + 1));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  };
  const sessions = [
    ...await openMany(arena, 20, () => {}),
    ...await openMany(arena, 10, (session) => sendQuietly(session, hello.subarray(0, 20))),
    ...await openMany(arena, 5, (session) => void trickle(session)),
    ...await openMany(arena, 5, async (session) => {
      await sendQuietly(session, hello);
      await nextFrame(session, 15_000, "Welcome");
    }),
  ];
  try {
    const [pwd, endings] = await Promise.all([
      runClient(arena.server, ["pwd"], { user: "alice" }),
      Promise.all(sessions.map((session) => readToEnd(session, 20_000, "a slow handshake"))),
    ]);
    const elapsed = performance.now() - opened;
    assert.equal(pwd.code, 0, `alice logs in meanwhile: ${pwd.stderr}`);
    for (const ending of endings) {
      assert.deepEqual(ending.frames, []);
      assert.equal(ending.error?.code ?? STATUS.TIMEOUT, STATUS.TIMEOUT);
    }
    assert.ok(endings.filter((ending) => ending.error).length >= 30, "most hear TIMEOUT");
    assert.ok(elapsed < 12_000, `all 40 dropped after ${Math.round(elapsed)} ms`);
  } finally {
    trickling = false;
    for (const session of sessions) session.close();
  }
}

async function prepareFiles(arena: Arena): Promise<void> {
  const root = arena.aliceRoot;
  await Deno.writeFile(join(root, "big.bin"), seededBytes(16 * 1024 * 1024, 11));
  await Deno.writeFile(join(root, "file.txt"), seededBytes(64 * 1024, 12));
  await Deno.mkdir(join(root, "dir"));
  await Deno.writeTextFile(join(root, "dir", "a.txt"), "a\n");
  await Deno.symlink(arena.canaries.outsideDir, join(root, "link"));
}

Deno.test("broken, random and mutated frames and slow handshakes end only their own connection, touch nothing outside alice's root, and bob is served throughout", async (t) => {
  await using arena = await openArena(["--login-timeout=2", `--max-sessions-per-user=${WORKERS}`]);
  await prepareFiles(arena);
  await arena.attack(
    t,
    `each of ${BROKEN_FRAMES.length} broken frames after login gets Error PROTOCOL_ERROR with id 0, then a close`,
    async () => {
      const wrong: string[] = [];
      for (const [name, bytes] of BROKEN_FRAMES) {
        const ending = await asAlice(arena, async (session) => {
          await sendQuietly(session, bytes);
          if (completeStream(bytes).length > bytes.length) {
            await (session.conn as Deno.TlsConn).closeWrite();
          }
          return await readToEnd(session, 20_000, name);
        });
        if (ending.error?.code !== STATUS.PROTOCOL_ERROR) {
          wrong.push(
            `${name}: ${ending.error ? statusName(ending.error.code) : "closed without Error"}`,
          );
        }
      }
      assert.deepEqual(wrong, []);
    },
  );
  await arena.attack(
    t,
    "a well-formed request that fails gets an Error with its own id and the session goes on",
    () =>
      asAlice(arena, async (session) => {
        for (const [index, [name, bytes, id, expected]] of FAILED_OPERATIONS.entries()) {
          const result = await sendWithProbe(session, bytes, PROBE_ID + index, 20_000);
          assert.ok(result.served, `${name}: the session goes on`);
          const errors = result.frames.filter((frame) => frame.type === MESSAGE_TYPE.Error)
            .map((
              frame,
            ) => [frame.id, statusName(new DataView(frame.payload.buffer).getUint16(0))]);
          assert.deepEqual(errors, expected ? [[id, expected]] : [], name);
        }
      }),
  );
  await arena.attack(
    t,
    "a Data frame of exactly the frame limit is accepted into an upload",
    async () => {
      const content = seededBytes(MAX_FRAME_SIZE - 5, 13);
      await asAlice(arena, async (session) => {
        await sendQuietly(session, write(20, "/max.bin", content.length));
        assert.equal(
          (await nextFrame(session, 15_000, "WriteReady")).type,
          MESSAGE_TYPE.WriteReady,
        );
        await sendQuietly(session, concatBytes(dataFrame(20, content), dataEnd(20, content)));
        assert.equal((await nextFrame(session, 15_000, "Ok")).type, MESSAGE_TYPE.Ok);
      });
      assert.equal(await sha256File(join(arena.aliceRoot, "max.bin")), sha256(content));
    },
  );
  await arena.attack(
    t,
    `${RANDOM_BEFORE_HELLO} connections of random bytes before Hello are refused or closed in time`,
    async () => {
      await inPool(RANDOM_BEFORE_HELLO, 8, (index) => randomBeforeHello(arena, index));
    },
  );
  await arena.attack(
    t,
    `${RANDOM_INSTEAD_OF_TLS} connections of random bytes where TLS belongs are closed in time`,
    async () => {
      await inPool(RANDOM_INSTEAD_OF_TLS, 4, (index) => randomInsteadOfTls(arena, index));
    },
  );
  await arena.attack(
    t,
    `${RANDOM_AFTER_LOGIN} connections of random bytes after login end or are served in time`,
    async () => {
      const tally = new Tally();
      await inPool(RANDOM_AFTER_LOGIN, WORKERS, (index) =>
        asAlice(arena, async (session) => {
          const bytes = randomAfterLogin(index);
          const label = `random ${index} (${hex(bytes)})`;
          const result = await sendWithProbe(session, bytes, PROBE_ID + index, 20_000)
            .catch((error) => Promise.reject(new Error(`${label}: ${error.message}`)));
          tally.add(label, result);
        }));
      console.log(`random bytes after login: ${tally}`);
      assert.deepEqual(tally.problems, []);
    },
  );
  await arena.attack(
    t,
    `${
      BYTE_MUTATIONS + FIELD_MUTATIONS
    } mutated valid frames never hang the server or break more than their own session`,
    async () => {
      const tally = new Tally();
      await Promise.all(
        Array.from({ length: WORKERS }, (_, worker) => mutationWorker(arena, worker, tally)),
      );
      console.log(`mutations: ${tally}`);
      assert.deepEqual(tally.problems, []);
    },
  );
  await arena.attack(
    t,
    "40 slow handshakes are dropped with TIMEOUT after --login-timeout while alice logs in",
    () => slowHandshakes(arena),
  );
  await arena.finish(t, 10);
});

Deno.test("a request with id 0, which ids must never be, is refused as a protocol error", async () => {
  await using server = await startServer();
  const session = await loginRaw(server);
  try {
    const result = await sendWithProbe(session, encode(Messages.Stat, 0, { path: "/" }), 1, 20_000);
    assert.deepEqual(
      {
        served: result.served,
        error: result.error?.code,
        replies: result.frames.map((f) => f.type),
      },
      { served: false, error: STATUS.PROTOCOL_ERROR, replies: [] },
      "PROTOCOL.md §9: ids MUST be non-zero; §7.3: an Error with id 0 ends the session",
    );
  } finally {
    session.close();
  }
});

/**
 * Connections that never finish the TLS handshake hold login-stage slots
 * only until --login-timeout closes them, and never lock other users out.
 * (That their descriptors come back is in connection_limits_test.ts.)
 */
Deno.test("connections that never finish the TLS handshake give up their login slots after --login-timeout", async () => {
  await using server = await startServer(["--login-timeout=1", "--max-unauthenticated=3"]);
  const stalled = await Promise.all(
    [0, 1, 2].map(() => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
  );
  try {
    await stalled[2].write(PARTIAL_CLIENT_HELLO);
    const refused = await runClient(server, ["pwd"], { user: "bob" });
    assert.equal(refused.code, 4, "while the three hold the login stage, a fourth is refused");
    for (const conn of stalled) {
      await within(drainUntilClosed(conn), 10_000, "closed at the timeout");
    }
    const bob = await runClient(server, ["pwd"], { user: "bob" });
    assert.equal(bob.code, 0, `bob logs in once their slots are released: ${bob.stderr}`);
  } finally {
    for (const conn of stalled) conn.close();
  }
});
