/**
 * The protocol of folder sync (PROTOCOL.md §5.9) against a real server:
 * tree listings with the hashes uploads were verified against, the change
 * journal across restarts and changes made on the server's disk, the
 * conditional requests against another session's changes, notifications of
 * a watching session, and clear failures where the two ends differ.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RemoteError } from "../../src/client/errors.ts";
import type { ClientConnection } from "../../src/client/connection.ts";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import { decode, encode, messageName, Messages } from "../../src/protocol/messages.ts";
import { STATUS, statusName } from "../../src/protocol/status.ts";
import type { JournalPosition } from "../../src/storage/journal.ts";
import { fromHex } from "../../src/shared/hex.ts";
import {
  openClient,
  runClient,
  startServer,
  type TestServer,
  within,
} from "../helpers/processes.ts";
import { seededBytes, sha256 } from "../helpers/files.ts";
import {
  concatBytes,
  dataFrame,
  loginRaw,
  nextFrame,
  rawFrame,
  sendQuietly,
} from "../helpers/hostile.ts";

const MTIME = 1_700_000_000_000;
const encoder = new TextEncoder();

/** Stores `text` at `path` through `WriteFileIf`, expecting nothing there (or `previous`). */
function write(connection: ClientConnection, path: string, text: string, previous?: string) {
  const content = encoder.encode(text);
  const expected = previous === undefined
    ? { kind: "absent" } as const
    : { kind: "file", sha256: sha256(encoder.encode(previous)) } as const;
  return connection.writeFileIf(
    { path, mtimeMs: MTIME, sha256: fromHex(sha256(content)), content },
    expected,
  );
}

/** The status name a request failed with, or "ok". */
function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "ok",
    (error) => error instanceof RemoteError ? statusName(error.code) : String(error),
  );
}

/** Every change under `path` since `cursor`, all pages. */
async function allChanges(connection: ClientConnection, path: string, cursor: JournalPosition) {
  const changes = [];
  for (let sequence = cursor.sequence;;) {
    const page = await connection.changes(path, { ...cursor, sequence });
    changes.push(...page.changes);
    sequence = page.sequence;
    if (!page.more) return { changes, sequence };
  }
}

async function aliceRoot(server: TestServer): Promise<string> {
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  return root;
}

Deno.test("ListTree lists the tree with the hash each upload was verified against, from the journal's index, not by reading the file again", async () => {
  await using server = await startServer();
  const root = await aliceRoot(server);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    const big = seededBytes(700_000, 3); // Through Write and Data, not WriteFile.
    await Deno.writeFile(join(local, "big.bin"), big);
    const put = await runClient(server, [], {
      stdin: "mkdir docs\ncd docs\nput big.bin\n",
      cwd: local,
    });
    assert.equal(put.code, 0, put.stderr);
    const connection = await openClient(server);
    try {
      await write(connection, "/docs/small.txt", "small");
      // The same size and mtime with other bytes, behind the server's back: only a re-read tells.
      const onDisk = join(root, "docs", "small.txt");
      await Deno.writeTextFile(onDisk, "SMALL");
      await Deno.utime(onDisk, new Date(), new Date(MTIME));
      await Deno.writeTextFile(join(root, "docs", "made-on-disk.txt"), "made on disk");
      await Deno.symlink("small.txt", join(root, "docs", "link"));
      const tree = await connection.listTree("/docs");
      assert.equal(tree.path, "/docs");
      assert.match(tree.journalId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(tree.entries.map(({ path, kind, sha256 }) => [path, kind, sha256]), [
        ["big.bin", "file", sha256(big)],
        ["link", "symlink", undefined],
        ["made-on-disk.txt", "file", sha256(encoder.encode("made on disk"))],
        ["small.txt", "file", sha256(encoder.encode("small"))],
      ]);
      assert.equal(await outcome(connection.listTree("/docs/small.txt")), "NOT_A_DIRECTORY");
      assert.equal(await outcome(connection.listTree("/missing")), "NOT_FOUND");
      // A folder named through a link: the journal names its changes canonically (under /docs),
      // which a client of /alias could not match; both requests refuse, naming the real folder.
      await Deno.symlink("docs", join(root, "alias"));
      await Deno.mkdir(join(root, "docs", "inner"));
      const cursorNow = { journalId: tree.journalId, sequence: tree.sequence };
      for (const path of ["/alias", "/alias/inner"]) {
        for (const request of [connection.listTree(path), connection.changes(path, cursorNow)]) {
          const refused = await request.then(() => undefined, (error) => error);
          assert.ok(refused instanceof RemoteError, path);
          assert.equal(statusName(refused.code), "INVALID_PATH", path);
          assert.match(refused.message, /symbolic link \(it is \/docs/, path);
        }
      }
      const everything = await connection.listTree("/");
      assert.ok(everything.entries.every((entry) => !entry.path.startsWith(".dfos")));
      await Deno.symlink(server.dir, join(root, "outside"));
      const cursor = { journalId: tree.journalId, sequence: tree.sequence };
      for (const path of ["/.dfos", "/outside", "/alias/../.dfos"]) {
        assert.equal(await outcome(connection.listTree(path)), "PERMISSION_DENIED", path);
        assert.equal(await outcome(connection.changes(path, cursor)), "PERMISSION_DENIED", path);
      }
    } finally {
      await connection.close();
    }
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("Changes since a cursor returns only later changes, survives a restart, finds what changed on disk meanwhile, and expires after a kill", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-test-" });
  let server = await startServer([], dir);
  try {
    const root = await aliceRoot(server);
    let connection = await openClient(server);
    await connection.mkdir("/sync", false);
    await write(connection, "/sync/a.txt", "a");
    const tree = await connection.listTree("/sync");
    const cursor = { journalId: tree.journalId, sequence: tree.sequence };
    await write(connection, "/sync/b.txt", "b");
    await connection.mkdir("/sync/d", false);
    await write(connection, "/elsewhere.txt", "not under /sync");
    const before = await allChanges(connection, "/sync", cursor);
    assert.deepEqual(before.changes.map((c) => [c.op, c.path]), [["put", "/sync/b.txt"], [
      "mkdir",
      "/sync/d",
    ]]);
    assert.equal(before.changes[0].sha256, sha256(encoder.encode("b")));
    await connection.close();

    assert.equal(await server.stop("SIGTERM"), 0);
    await Deno.writeTextFile(join(root, "sync", "a.txt"), "changed while the server was down");
    server = await startServer([], dir);
    connection = await openClient(server);
    const after = await allChanges(connection, "/sync", cursor);
    assert.deepEqual(after.changes.slice(0, 2), before.changes, "the journal and its id survived");
    assert.deepEqual(after.changes.slice(2).map((c) => [c.op, c.path, c.sha256]), [
      ["put", "/sync/a.txt", sha256(encoder.encode("changed while the server was down"))],
    ]);
    const quiet = await connection.changes("/sync", { ...cursor, sequence: after.sequence });
    assert.deepEqual(quiet.changes, [], "nothing after the last cursor");
    await connection.close();

    await server.stop("SIGKILL");
    server = await startServer([], dir);
    connection = await openClient(server);
    try {
      assert.equal(await outcome(connection.changes("/sync", cursor)), "CURSOR_EXPIRED");
      assert.notEqual((await connection.listTree("/sync")).journalId, cursor.journalId);
      assert.equal(
        await outcome(connection.changes("/sync", { journalId: "other", sequence: 0 })),
        "CURSOR_EXPIRED",
      );
    } finally {
      await connection.close();
    }
  } finally {
    await server.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("each conditional request refuses with CONFLICT and changes nothing when another session changed the path in between", async (t) => {
  await using server = await startServer(["--max-sessions-per-user=3"]);
  const root = await aliceRoot(server);
  const mine = await openClient(server);
  const theirs = await openClient(server);
  const seen = { kind: "file", sha256: sha256(encoder.encode("v1")) } as const;
  const read = (name: string) => Deno.readTextFile(join(root, name));
  try {
    await write(mine, "/f.txt", "v1");
    await mine.mkdir("/d", false);
    await write(theirs, "/f.txt", "v2", "v1"); // The other session moves on.

    await t.step("WriteFileIf, RemoveIf, RenameIf", async () => {
      assert.equal(await outcome(write(mine, "/f.txt", "mine", "v1")), "CONFLICT");
      assert.equal(await outcome(write(mine, "/d", "mine")), "CONFLICT");
      assert.equal(await outcome(mine.removeIf("/f.txt", seen)), "CONFLICT");
      assert.equal(await outcome(mine.renameIf("/f.txt", "/g.txt", seen)), "CONFLICT");
      assert.equal(await outcome(mine.renameIf("/d", "/f.txt", { kind: "directory" })), "CONFLICT");
      assert.equal(await outcome(mine.removeIf("/f.txt", { kind: "absent" })), "BAD_REQUEST");
      assert.equal(await read("f.txt"), "v2");
      assert.deepEqual((await mine.list("/")).map((entry) => entry.name), ["d", "f.txt"]);
    });

    await t.step(
      "WriteIf: refused before any byte, and at the commit after the other session wrote",
      async () => {
        const raw = await loginRaw(server);
        try {
          const bytes = encoder.encode("streamed");
          const writeIf = (id: number, expected: typeof seen | null) =>
            encode(Messages.WriteIf, id, {
              path: "/f.txt",
              size: bytes.length,
              mtimeMs: MTIME,
              resume: false,
              expected: expected === null
                ? { state: "absent", sha256: new Uint8Array() }
                : { state: "file", sha256: fromHex(expected.sha256) },
            });
          await sendQuietly(raw, writeIf(1, seen));
          assert.equal(
            statusName(decode(Messages.Error, await nextFrame(raw, 10_000, "refusal")).code),
            "CONFLICT",
          );
          const current = { kind: "file", sha256: sha256(encoder.encode("v2")) } as const;
          await sendQuietly(raw, writeIf(2, current));
          assert.equal((await nextFrame(raw, 10_000, "WriteReady")).type, Messages.WriteReady.type);
          await write(theirs, "/f.txt", "v3", "v2"); // While the upload is under way.
          await sendQuietly(
            raw,
            concatBytes(
              dataFrame(2, bytes),
              encode(Messages.DataEnd, 2, { sha256: fromHex(sha256(bytes)) }),
            ),
          );
          const reply = decode(Messages.Error, await nextFrame(raw, 10_000, "the commit's reply"));
          assert.equal(statusName(reply.code), "CONFLICT", reply.message);
        } finally {
          raw.close();
        }
        assert.equal(await read("f.txt"), "v3");
        assert.equal((await mine.listPartials("/")).count, 0, "the refused upload left no partial");
      },
    );

    await t.step("with the state as it is, each goes ahead", async () => {
      const now = { kind: "file", sha256: sha256(encoder.encode("v3")) } as const;
      assert.equal(await outcome(mine.renameIf("/f.txt", "/g.txt", now)), "ok");
      assert.equal(await outcome(write(mine, "/g.txt", "v4", "v3")), "ok");
      assert.equal(await outcome(mine.removeIf("/d", { kind: "directory" })), "ok");
      assert.deepEqual((await mine.list("/")).map((entry) => entry.name), ["g.txt"]);
      assert.equal(await read("g.txt"), "v4");
    });
  } finally {
    await mine.close();
    await theirs.close();
  }
});

Deno.test("a watching session is told when another session of the same user changes its folder, and pulls the change", async () => {
  await using server = await startServer(["--max-sessions-per-user=2"]);
  const watcher = await openClient(server);
  const other = await openClient(server);
  try {
    await watcher.mkdir("/sync", false);
    const tree = await watcher.listTree("/sync");
    const cursor = { journalId: tree.journalId, sequence: tree.sequence };
    const told = new Promise<JournalPosition>((resolve) => watcher.onChanged = resolve);
    await watcher.changes("/sync", cursor, true);
    await write(other, "/sync/new.txt", "from another machine");
    const position = await within(told, 10_000, "the Changed notification");
    assert.equal(position.journalId, cursor.journalId);
    const pulled = await watcher.changes("/sync", cursor, true);
    assert.deepEqual(pulled.changes.map((c) => [c.op, c.path]), [["put", "/sync/new.txt"]]);
    assert.equal(pulled.sequence, position.sequence);
  } finally {
    await watcher.close();
    await other.close();
  }
});

Deno.test("an unknown request ends the session with a clear PROTOCOL_ERROR, and a client refuses sync requests a server does not list", async () => {
  await using server = await startServer();
  const raw = await loginRaw(server);
  try {
    await sendQuietly(raw, rawFrame(0x1f, 1, [0, 1, 0x2f]));
    const reply = await nextFrame(raw, 10_000, "the refusal");
    assert.equal(reply.id, 0);
    const error = decode(Messages.Error, reply);
    assert.equal(error.code, STATUS.PROTOCOL_ERROR);
    assert.match(error.message, /unexpected unknown type 0x1f after login/);
  } finally {
    raw.close();
  }
  const older = olderServer();
  try {
    const connection = await openClient(server, { port: older.port, trust: { kind: "insecure" } });
    await assert.rejects(connection.listTree("/"), /does not support ListTree/);
    await assert.rejects(
      connection.changes("/", { journalId: "", sequence: 0 }),
      /does not support Changes/,
    );
    await assert.rejects(
      connection.removeIf("/a", { kind: "directory" }),
      /does not support RemoveIf/,
    );
    await connection.close();
    assert.deepEqual(await older.received, ["Goodbye"], "nothing but the goodbye was sent");
  } finally {
    older.close();
  }
});

/**
 * A plain-TCP stand-in for a server from before sync: it greets, logs
 * anyone in, and records the names of the frames it gets until the client
 * leaves.
 */
function olderServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn);
    const names: string[] = [];
    try {
      await reader.next(); // Hello
      await conn.write(encode(Messages.Welcome, 0, {
        version: 1,
        serverName: "older",
        capabilities: ["List", "Stat", "Read", "Write", "WriteFile"],
        maxFrameSize: 1_114_112,
        chunkSize: 262_144,
      }));
      await reader.next(); // Auth
      await conn.write(encode(Messages.AuthOk, 0, { sessionId: "00000000", cwd: "/" }));
      for (let frame = await reader.next(); frame; frame = await reader.next()) {
        names.push(messageName(frame.type));
        if (frame.type === Messages.Goodbye.type) break;
      }
    } finally {
      conn.close();
    }
    return names;
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    close: () => listener.close(),
  };
}
