/**
 * One server attacked through paths and through connections cut at every
 * stage, while bob keeps uploading and downloading. Afterwards nothing
 * outside alice's root may have been read or written, every bystander round
 * must have succeeded, and the server must still run and exit 0 on SIGTERM.
 * Malformed, random and mutated frames and slow handshakes are in
 * hostile_frames_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ClientConnection } from "../../src/client/connection.ts";
import { LocalError, RemoteError } from "../../src/client/errors.ts";
import { downloadFile, uploadFile } from "../../src/client/file_transfer.ts";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";
import { MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../../src/protocol/messages.ts";
import { STATUS } from "../../src/protocol/status.ts";
import { openClient, startServer, USERS } from "../helpers/processes.ts";
import { seededBytes, sha256, sha256File } from "../helpers/files.ts";
import {
  type Arena,
  dataFrame,
  digest,
  helloFrame,
  loginRaw,
  nextFrame,
  openArena,
  openTls,
  PARTIAL_CLIENT_HELLO,
  type RawSession,
  sendQuietly,
} from "../helpers/hostile.ts";

/** Links planted inside alice's root; all but `inner` and `loops/loop` lead outside it. */
async function plantLinks(arena: Arena): Promise<void> {
  const { aliceRoot, canaries, server } = arena;
  const links: [string, string][] = [
    ["link", canaries.outsideDir],
    ["filelink", join(canaries.outsideDir, "secret.txt")],
    ["dangling", join(canaries.outsideDir, "created")],
    ["hop1", join(aliceRoot, "hop2")],
    ["hop2", canaries.outsideDir],
    ["up", ".."],
    ["bobs", join(server.storageDir, "bob")],
    ["inner", "d"],
    ["loops/loop", "loop"],
  ];
  await Deno.mkdir(join(aliceRoot, "loops"));
  for (const [name, target] of links) await Deno.symlink(target, join(aliceRoot, name));
}

const LONG_4096 = "/" + `${"x".repeat(255)}/`.repeat(15) + "x".repeat(255);
const LONG_4096_MULTIBYTE = "/" + `${"x".repeat(255)}/`.repeat(15) + "x".repeat(253) + "é";

/** Paths every operation must refuse with PERMISSION_DENIED: links out, the reserved name. */
const LEADING_OUT =
  ("link link/secret.txt link/../link/secret.txt ./link/secret.txt /link/ link/. " +
    "link/sub/deep.txt link/new-file filelink hop1 hop1/secret.txt up up/victim/secret.txt " +
    "bobs/r.bin dangling dangling/x /.dfos .dfos /.dfos/partial x/../.dfos ./.dfos/ " +
    "//.dfos//partial ../.dfos/partial").split(" ");

/** Paths every operation must refuse with INVALID_PATH (NUL, controls, backslash, 256-byte names). */
const MALFORMED =
  ("a\u0000b \u0000 ../\u0000/etc/passwd link\u0000/secret.txt a\rb a\nb ..\r\n.. " +
    "\r\n/etc/passwd tab\there del\u007f esc\u001b[2J ..\\..\\x \\etc\\passwd link\\secret.txt ..\\")
    .split(" ").concat([
      "x".repeat(256),
      "x".repeat(254) + "é",
      "x".repeat(253) + "€",
      "x".repeat(252) + "😀",
      `/ok/${"y".repeat(256)}/z`,
      `link/${"x".repeat(256)}`,
    ]);

/** Paths naming something inside alice's root: any status, or success there. */
const STAYING_INSIDE =
  (".. ../ /.. ./.. ../.. ../../../../../../../../etc/passwd /../../etc/passwd " +
    "a/../../.. d/../../.. ..//..//d /./.././d d/e/../../../../.. ....// ....//....//etc/passwd " +
    ".../... ..%2f..%2fetc%2fpasswd %2e%2e/%2e%2e/etc/passwd %252e%252e/%252e%252e/x " +
    "..%c0%af..%c0%afx /etc/passwd /proc/self/environ /dev/null ~/x $HOME ... " +
    "\uff0e\uff0e/\uff0e\uff0e/etc/passwd \u2024\u2024/\u2024\u2024/x ..\u2215..\u2215x ..\u2044..\u2044x " +
    "\u2025/x \ufe52\ufe52/x \ufeff../x \u202eexe.txt name\u0085 inner/../inner link/sub/../../x " +
    "loops/loop loops/loop/x").split(" ").concat([
      " ..",
      ".. ",
      "x".repeat(255),
      "x".repeat(253) + "é",
      "x".repeat(252) + "€",
      "x".repeat(251) + "😀",
      LONG_4096,
      LONG_4096_MULTIBYTE,
    ]);

/** The status a request ended with, or "ok"; a lost connection fails the test. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (error instanceof RemoteError) return error.status;
    if (error instanceof LocalError) return `local: ${error.message}`;
    throw error;
  }
}

type Operation = (connection: ClientConnection, path: string, serial: number) => Promise<unknown>;

/** Every path-taking operation, by name. */
function operations(local: string): [string, Operation][] {
  const payload = join(local, "payload.txt");
  return [
    ["stat", (c, path) => c.stat(path)],
    ["list", (c, path) => c.list(path)],
    ["chdir", (c, path) => c.chdir(path).finally(() => c.chdir("/"))],
    ["mkdir", (c, path) => c.mkdir(path, true)],
    ["rmdir", (c, path) => c.rmdir(path)],
    ["rename from", (c, path, n) => c.rename(path, `/renamed-${n}`, false)],
    [
      "rename to",
      (c, path) =>
        c.mkdir("/rename-source", true).then(() => c.rename("/rename-source", path, false)),
    ],
    [
      "upload",
      (c, path) => uploadFile(c, payload, path, { force: true, progress: SILENT_PROGRESS }),
    ],
    ["download", (c, path, n) =>
      downloadFile(c, path, join(local, "downloads", `${n}`), {
        force: true,
        resume: false,
        progress: SILENT_PROGRESS,
      })],
    ["remove", (c, path) => c.remove(path, true)],
  ];
}

/** Runs every operation on every path; returns "path → operation → status" for the ones not `expected`. */
async function sweep(
  connection: ClientConnection,
  local: string,
  paths: string[],
  expected?: string,
): Promise<string[]> {
  const unexpected: string[] = [];
  let requests = 0;
  for (const path of paths) {
    for (const [name, operation] of operations(local)) {
      const result = await outcome(operation(connection, path, requests++));
      assert.equal(connection.closed, false, `${JSON.stringify(path)} ${name} kept the session`);
      if (expected !== undefined && result !== expected) {
        unexpected.push(`${JSON.stringify(path.slice(0, 60))} ${name} → ${result}`);
      }
    }
  }
  return unexpected;
}

async function pathAttacks(arena: Arena, t: Deno.TestContext): Promise<void> {
  const { server, aliceRoot, canaries } = arena;
  await plantLinks(arena);
  const local = await Deno.makeTempDir({ prefix: "dfos-hostile-local-" });
  await Deno.mkdir(join(local, "downloads"));
  await Deno.writeTextFile(join(local, "payload.txt"), "attack payload\n");
  const connection = await openClient(server);
  try {
    await arena.attack(t, "dot-dot in every position is clamped at alice's root", async () => {
      await connection.mkdir("/d/e", true);
      await connection.chdir("/d/e");
      const clamped: [string, string][] = [
        ["..", "/d"],
        ["../..", "/"],
        ["../../..", "/"],
        ["../../../../../../..", "/"],
        ["/..", "/"],
        ["/../..", "/"],
        ["./..", "/d"],
        ["..//..//..", "/"],
        ["../e/../../d/./e/", "/d/e"],
        ["/d/e/../../../../d", "/d"],
        ["x/../../..", "/"],
        ["../../../../d/e", "/d/e"],
      ];
      for (const [path, resolved] of clamped) {
        assert.equal(await connection.chdir(path), resolved, path);
        await connection.chdir("/d/e");
      }
      const options = { force: true, progress: SILENT_PROGRESS };
      await uploadFile(connection, join(local, "payload.txt"), "../../../../up.txt", options);
      await connection.mkdir("../../../../../mk", false);
      await connection.rename("../../../up.txt", "../../../../../../moved.txt", false);
      assert.equal((await connection.stat("/../../../moved.txt")).path, "/moved.txt");
      await downloadFile(connection, "../../../../moved.txt", join(local, "moved.txt"), options);
      assert.equal(await Deno.readTextFile(join(local, "moved.txt")), "attack payload\n");
      assert.ok((await Deno.stat(join(aliceRoot, "mk"))).isDirectory);
      assert.equal(await Deno.readTextFile(join(aliceRoot, "moved.txt")), "attack payload\n");
      assert.deepEqual(
        [await Deno.lstat(join(aliceRoot, "up.txt")).catch(() => "gone")],
        ["gone"],
      );
      await connection.chdir("/");
    });
    await arena.attack(
      t,
      "links leading out and the reserved name are refused with PERMISSION_DENIED by every operation",
      async () => {
        assert.deepEqual(await sweep(connection, local, LEADING_OUT, "PERMISSION_DENIED"), []);
      },
    );
    await arena.attack(
      t,
      "control characters, backslashes and over-long names are refused with INVALID_PATH by every operation",
      async () => {
        assert.deepEqual(await sweep(connection, local, MALFORMED, "INVALID_PATH"), []);
      },
    );
    await arena.attack(
      t,
      "encoded, look-alike and long paths get a status or act inside alice's root",
      () => sweep(connection, local, STAYING_INSIDE),
    );
    const paths = LEADING_OUT.length + MALFORMED.length + STAYING_INSIDE.length;
    console.log(`path attacks: ${paths} paths × ${operations(local).length} operations`);
    for await (const entry of Deno.readDir(join(local, "downloads"))) {
      const text = await Deno.readTextFile(join(local, "downloads", entry.name)).catch(() => "");
      assert.ok(!text.includes(canaries.secretText), `download ${entry.name} holds no secret`);
    }
  } finally {
    await connection.close();
    await Deno.remove(local, { recursive: true });
  }
}

const MIB = 1024 * 1024;
/** The upload the drop stages interrupt again and again; it must never show half-done. */
const UPLOAD = { path: "/upload.bin", size: 4 * MIB, mtimeMs: 1_700_000_000_000 };

/** State shared by the drop stages. */
interface Drops {
  arena: Arena;
  content: Uint8Array;
  /** Where each resumed Write was told to start. */
  offsets: number[];
  /** Set once a DataEnd was sent: from then on the upload may have been committed. */
  committable: boolean;
}

async function writeUpTo(drops: Drops, session: RawSession, end: number, dataEnd = false) {
  await sendQuietly(
    session,
    encode(Messages.Write, 1, { ...UPLOAD, overwrite: false, resume: true }),
  );
  const ready = await nextFrame(session, 15_000, "WriteReady");
  const { offset } = decode(Messages.WriteReady, ready);
  drops.offsets.push(offset);
  for (let at = offset; at < end; at += 256 * 1024) {
    await sendQuietly(
      session,
      dataFrame(1, drops.content.subarray(at, Math.min(end, at + 256 * 1024))),
    );
  }
  if (dataEnd) {
    drops.committable = true;
    await sendQuietly(
      session,
      encode(Messages.DataEnd, 1, { sha256: digest(drops.content) }),
    );
  }
}

/** Logs alice in, runs `act`, then cuts the connection without a Goodbye. */
function loggedIn(act: (session: RawSession, drops: Drops) => Promise<unknown>) {
  return async (drops: Drops) => {
    const session = await loginRaw(drops.arena.server);
    try {
      await act(session, drops);
    } finally {
      session.close();
    }
  };
}

/** Sends one request and cuts the connection at once. */
function sendAndDrop(frame: Uint8Array) {
  return loggedIn((session) => sendQuietly(session, frame));
}

const READ_BIG = encode(Messages.Read, 2, {
  path: "/big.bin",
  offset: 0,
  length: 0,
  ifSize: 0,
  ifMtimeMs: 0,
});
const LIST_MANY = encode(Messages.List, 3, { path: "/many" });

/** Where a connection is cut, and how it gets there. */
const DROP_STAGES: [string, (drops: Drops) => Promise<unknown>][] = [
  ["right after the TCP connect", async ({ arena }) => {
    (await Deno.connect({ hostname: "127.0.0.1", port: arena.server.port })).close();
  }],
  ["inside the TLS handshake", async ({ arena }) => {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: arena.server.port });
    await tcp.write(PARTIAL_CLIENT_HELLO).catch(() => {});
    tcp.close();
  }],
  ["after the TLS handshake", async ({ arena }) => (await openTls(arena.server)).close()],
  ["after Hello", async ({ arena }) => {
    const session = await openTls(arena.server);
    await sendQuietly(session, helloFrame());
    session.close();
  }],
  ["after Welcome", async ({ arena }) => {
    const session = await openTls(arena.server);
    await sendQuietly(session, helloFrame());
    await nextFrame(session, 15_000, "Welcome").finally(() => session.close());
  }],
  ["after Auth, before AuthOk", async ({ arena }) => {
    const session = await openTls(arena.server);
    try {
      await sendQuietly(session, helloFrame());
      await nextFrame(session, 15_000, "Welcome");
      await sendQuietly(
        session,
        encode(Messages.Auth, 0, { user: "alice", password: USERS.alice }),
      );
    } finally {
      session.close();
    }
  }],
  ["after AuthOk", loggedIn(() => Promise.resolve())],
  [
    "right after a Write",
    sendAndDrop(encode(Messages.Write, 1, { ...UPLOAD, overwrite: false, resume: true })),
  ],
  ["after WriteReady", loggedIn((session, drops) => writeUpTo(drops, session, 0))],
  ["after 1 MiB of Data", loggedIn((session, drops) => writeUpTo(drops, session, MIB))],
  [
    "after all Data, before DataEnd",
    loggedIn((session, drops) => writeUpTo(drops, session, UPLOAD.size)),
  ],
  [
    "right after DataEnd, before Ok",
    loggedIn((session, drops) => writeUpTo(drops, session, UPLOAD.size, true)),
  ],
  ["right after a Read", sendAndDrop(READ_BIG)],
  [
    "after ReadInfo",
    loggedIn(async (session) => {
      await sendQuietly(session, READ_BIG);
      assert.equal((await nextFrame(session, 15_000, "ReadInfo")).type, Messages.ReadInfo.type);
    }),
  ],
  [
    "after the first Data of a Read",
    loggedIn(async (session) => {
      await sendQuietly(session, READ_BIG);
      await nextFrame(session, 15_000, "ReadInfo");
      assert.equal((await nextFrame(session, 15_000, "Data")).type, MESSAGE_TYPE.Data);
    }),
  ],
  ["right after a List", sendAndDrop(LIST_MANY)],
  [
    "after the first of several Listing frames",
    loggedIn(async (session) => {
      await sendQuietly(session, LIST_MANY);
      const first = decode(Messages.Listing, await nextFrame(session, 15_000, "Listing"));
      assert.equal(first.more, true, "the listing spans several frames");
    }),
  ],
  [
    "right after a Rename",
    sendAndDrop(
      encode(Messages.Rename, 4, { from: "/ren-a.txt", to: "/ren-b.txt", overwrite: false }),
    ),
  ],
  [
    "right after a Mkdir",
    sendAndDrop(encode(Messages.Mkdir, 5, { path: "/made/deep", parents: true })),
  ],
  ["right after an Rmdir", sendAndDrop(encode(Messages.Rmdir, 6, { path: "/made/deep" }))],
  [
    "right after a Remove",
    sendAndDrop(encode(Messages.Remove, 7, { path: "/made", recursive: true })),
  ],
  ["right after a Stat", sendAndDrop(encode(Messages.Stat, 8, { path: "/big.bin" }))],
  ["right after a Chdir", sendAndDrop(encode(Messages.Chdir, 9, { path: "/many" }))],
];

/** Asks one request on `session` and returns its reply. */
async function ask(session: RawSession, frame: Uint8Array, id: number): Promise<Frame> {
  await sendQuietly(session, frame);
  for (;;) {
    const reply = await nextFrame(session, 15_000, "reply");
    if (reply.id === id) return { ...reply, payload: reply.payload.slice() };
  }
}

/** alice logs in again (her one session slot is free), is served, and sees no half upload. */
async function afterDrop(drops: Drops, stage: string): Promise<void> {
  const { arena } = drops;
  const session = await loginRaw(arena.server, "alice", 10_000);
  try {
    const reply = await ask(session, encode(Messages.Stat, 1, { path: UPLOAD.path }), 1);
    const onDisk = await sha256File(join(arena.aliceRoot, "upload.bin")).catch(() => "absent");
    if (onDisk === "absent" || !drops.committable) {
      assert.equal(reply.type, Messages.Error.type, `${stage}: no file under the real name`);
      assert.equal(decode(Messages.Error, reply).code, STATUS.NOT_FOUND);
      assert.equal(onDisk, "absent", `${stage}: nothing on disk under the real name`);
    } else {
      assert.equal(onDisk, sha256(drops.content), `${stage}: a committed upload is whole`);
    }
    const listing = decode(
      Messages.Listing,
      await ask(session, encode(Messages.List, 2, { path: "/" }), 2),
    );
    assert.ok(!listing.entries.some((entry) => entry.name === ".dfos"), "the partial stays hidden");
    await sendQuietly(session, encode(Messages.Goodbye, 0, {}));
  } finally {
    session.close();
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function disconnectAttacks(arena: Arena, t: Deno.TestContext): Promise<void> {
  const { aliceRoot } = arena;
  const content = seededBytes(UPLOAD.size, 42);
  await Deno.writeFile(join(aliceRoot, "big.bin"), seededBytes(8 * MIB, 43));
  await Deno.writeTextFile(join(aliceRoot, "ren-a.txt"), "rename me\n");
  await Deno.mkdir(join(aliceRoot, "many"));
  for (let index = 0; index < 3000; index++) {
    await Deno.writeFile(join(aliceRoot, "many", `${index}`.padStart(200, "n")), new Uint8Array());
  }
  const drops: Drops = { arena, content, offsets: [], committable: false };
  await arena.attack(
    t,
    `a connection cut at any of ${DROP_STAGES.length} stages frees alice's only session slot and leaves no partial file under the real name`,
    async () => {
      for (const [stage, drop] of DROP_STAGES) {
        await drop(drops);
        await afterDrop(drops, stage);
      }
      const renamed = ["ren-a.txt", "ren-b.txt"].filter((name) => exists(join(aliceRoot, name)));
      assert.equal(renamed.length, 1, "a cut Rename happened entirely or not at all");
    },
  );
  await arena.attack(
    t,
    "the interrupted upload resumes from the bytes the server kept and completes",
    async () => {
      assert.ok(
        drops.offsets.some((offset) => offset > 0),
        `resumed at ${drops.offsets.join(", ")}`,
      );
      if (!exists(join(aliceRoot, "upload.bin"))) {
        await loggedIn(async (session) => {
          await writeUpTo(drops, session, UPLOAD.size, true);
          assert.equal((await nextFrame(session, 30_000, "Ok")).type, Messages.Ok.type);
        })(drops);
      }
      assert.equal(await sha256File(join(aliceRoot, "upload.bin")), sha256(content));
    },
  );
}

Deno.test("path attacks and connections cut at every stage touch nothing outside alice's root, and bob is served throughout", async (t) => {
  await using arena = await openArena([]);
  await pathAttacks(arena, t);
  await disconnectAttacks(arena, t);
  await arena.finish(t, 8);
});

Deno.test("a symbolic link loop is listed as a link (kind 3 for a client without symlink) and does not break List", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(join(root, "a.txt"), "a");
  await Deno.symlink("loop", join(root, "loop"));
  const connection = await openClient(server);
  try {
    const listed = await outcome(
      connection.list("/").then((entries) => {
        assert.deepEqual(entries.map((entry) => [entry.name, entry.kind]), [
          ["a.txt", "file"],
          ["loop", "symlink"],
        ]);
      }),
    );
    assert.equal(
      listed,
      "ok",
      "PROTOCOL.md 5.3: a link is listed as kind 4 when both list symlink",
    );
  } finally {
    await connection.close();
  }
  const session = await loginRaw(server);
  try {
    await sendQuietly(session, encode(Messages.List, 1, { path: "/" }));
    const { entries } = decode(Messages.Listing, await nextFrame(session, 15_000, "Listing"));
    assert.deepEqual(entries.map((entry) => [entry.name, entry.kind]), [
      ["a.txt", "file"],
      ["loop", "other"],
    ], "PROTOCOL.md 5.3: without symlink in Hello, a link is listed as kind 3");
  } finally {
    session.close();
  }
});
