/**
 * Loose ends of the wire protocol found by fuzzing: a `DataZstd` whose zstd
 * frame is cut short (PROTOCOL.md §5.7), a client or server leaving in the
 * middle of a download (an ordinary end, not an internal error), and paths
 * too long for the server (section 8).
 */

import assert from "node:assert/strict";
import zlib from "node:zlib";
import { join } from "node:path";
import { MAX_VIRTUAL_PATH_BYTES, MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../../src/protocol/messages.ts";
import { STATUS, statusName } from "../../src/protocol/status.ts";
import {
  openClient,
  readAudit,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { serverCapabilities } from "../../src/server/handlers.ts";
import { seededBytes, sha256, sha256File } from "../helpers/files.ts";
import {
  concatBytes,
  digest,
  loginRaw,
  nextFrame,
  rawFrame,
  readToEnd,
  sendQuietly,
} from "../helpers/hostile.ts";

const MTIME = 1_700_000_000_000;
const write = (id: number, path: string, size: number) =>
  encode(Messages.Write, id, { path, size, mtimeMs: MTIME, overwrite: true, resume: true });
const dataZstd = (id: number, payload: Uint8Array) => rawFrame(MESSAGE_TYPE.DataZstd, id, payload);

/** Logs alice in with zstd agreed and opens an upload of `bytes` to `path` as request 1. */
async function zstdUpload(server: TestServer, path: string, size: number) {
  const session = await loginRaw(server, "alice", 10_000, ["zstd"]);
  await sendQuietly(session, write(1, path, size));
  assert.equal((await nextFrame(session, 20_000, "WriteReady")).type, MESSAGE_TYPE.WriteReady);
  return session;
}

Deno.test("with zstd agreed, a DataZstd holding a zstd frame cut short ends the connection with PROTOCOL_ERROR and stores nothing", async () => {
  await using server = await startServer();
  const bytes = Uint8Array.from({ length: 100 }, (_, index) => index * 7); // One raw block.
  const frame = zlib.zstdCompressSync(bytes);

  const whole = await zstdUpload(server, "/whole.bin", 100);
  try {
    await sendQuietly(
      whole,
      concatBytes(dataZstd(1, frame), encode(Messages.DataEnd, 1, { sha256: digest(bytes) })),
    );
    assert.equal((await nextFrame(whole, 20_000, "Ok")).type, MESSAGE_TYPE.Ok, "a whole frame");
  } finally {
    whole.close();
  }
  assert.equal(await sha256File(join(server.storageDir, "alice", "whole.bin")), sha256(bytes));

  const cut = await zstdUpload(server, "/cut.bin", 100);
  try {
    await sendQuietly(cut, dataZstd(1, frame.subarray(0, 10))); // Declares 100 bytes, carries 1.
    const ending = await readToEnd(cut, 20_000, "the refusal");
    assert.deepEqual(ending.frames, [], "no reply but the connection-level Error");
    assert.equal(ending.error?.code, STATUS.PROTOCOL_ERROR);
    assert.match(ending.error!.message, /not one complete zstd frame/);
  } finally {
    cut.close();
  }
  const names = [...Deno.readDirSync(join(server.storageDir, "alice"))].map((entry) => entry.name);
  assert.deepEqual(names.sort(), [".dfos", "whole.bin"], "cut.bin was not stored");
});

Deno.test("a client dropping its connection mid-download is logged as leaving, not as an internal error; a server dying mid-download is reported plainly", async () => {
  await using server = await startServer(["--max-sessions-per-user=3"]);
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeFile(join(root, "big.bin"), seededBytes(32 * 1024 * 1024, 4));
  const read = encode(Messages.Read, 1, {
    path: "/big.bin",
    offset: 0,
    length: 0,
    ifSize: 0,
    ifMtimeMs: 0,
  });
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    const session = await loginRaw(server);
    await sendQuietly(session, read);
    assert.equal((await nextFrame(session, 20_000, "ReadInfo")).type, MESSAGE_TYPE.ReadInfo);
    assert.equal((await nextFrame(session, 20_000, "Data")).type, MESSAGE_TYPE.Data);
    session.close(); // With unread bytes in its buffer: the server's next write meets a reset.
  }
  const reads = await waitFor(
    async () => {
      const records = (await readAudit(server)).filter((record) => record.event === "download");
      return records.length === rounds && records;
    },
    20_000,
    "the audit records of the downloads",
  );
  for (const record of reads) {
    assert.match(String(record.result), /^(client left|the session ended)$/);
  }
  assert.doesNotMatch(server.output(), /\[ERR\]|unexpected error/);

  const local = await Deno.makeTempDir({ prefix: "dfos-edges-" });
  try {
    const get = spawnClient(server, ["--limit-rate=4M", "get", "big.bin"], { cwd: local });
    const partial = join(local, ".big.bin.dfos-part");
    await waitFor(async () => (await Deno.stat(partial).catch(() => null))?.size, 20_000, "bytes");
    await server.stop("SIGKILL");
    assert.equal(await get.finish(), 4);
    // A killed process's socket ends with FIN, or with RST if it held unread bytes: both are plain.
    assert.match(
      get.stderr(),
      /^dfos: get: connection lost: (the server closed the connection|the connection was reset)\n$/,
    );
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("a client leaving part-way through an upload's frame raises no warning, is audited as the session's end, and its partial is kept", async () => {
  await using server = await startServer();
  const session = await loginRaw(server);
  await sendQuietly(session, write(1, "/up.bin", 4096));
  assert.equal((await nextFrame(session, 20_000, "WriteReady")).type, MESSAGE_TYPE.WriteReady);
  const bytes = seededBytes(4096, 5);
  const first = rawFrame(MESSAGE_TYPE.Data, 1, bytes.subarray(0, 1024));
  const second = rawFrame(MESSAGE_TYPE.Data, 1, bytes.subarray(1024, 3072));
  await sendQuietly(session, concatBytes(first, second.subarray(0, 1000))); // Then silence.
  session.close();
  const [record] = await waitFor(
    async () => {
      const records = (await readAudit(server)).filter((record) => record.event === "upload");
      return records.length === 1 && records;
    },
    20_000,
    "the audit record of the upload",
  );
  assert.equal(record.result, "the session ended");
  assert.equal(record.bytes, 1024);
  assert.doesNotMatch(server.output(), /protocol error|\[ERR\]/);
  const connection = await openClient(server);
  try {
    const listing = await connection.listPartials("/");
    assert.deepEqual(listing.entries.map((entry) => [entry.path, entry.received]), [
      ["/up.bin", 1024],
    ], "the whole frame that arrived is kept for a resume");
  } finally {
    await connection.close();
  }
});

/** "/dddd…/dddd…/…" of exactly `bytes` bytes, every name 200 bytes or less. */
function deepPath(bytes: number): string {
  let path = "";
  while (path.length < bytes) path += "/" + "d".repeat(Math.min(200, bytes - path.length - 1));
  return path.endsWith("/") ? path.slice(0, -1) + "e" : path;
}

/**
 * One request of every type naming `path` (Rename and RenameIf twice: as
 * source, as target), named by type.
 */
function everyRequest(path: string): [string, Uint8Array][] {
  const content = new TextEncoder().encode("x");
  const read = { path, offset: 0, length: 0, ifSize: 0, ifMtimeMs: 0 };
  return [
    ["List", encode(Messages.List, 1, { path })],
    ["Stat", encode(Messages.Stat, 2, { path })],
    ["Mkdir", encode(Messages.Mkdir, 3, { path, parents: true })],
    ["Rmdir", encode(Messages.Rmdir, 4, { path })],
    ["Remove", encode(Messages.Remove, 5, { path, recursive: true })],
    ["Rename from", encode(Messages.Rename, 6, { from: path, to: "/x", overwrite: true })],
    ["Rename to", encode(Messages.Rename, 7, { from: "/short.txt", to: path, overwrite: true })],
    ["Chdir", encode(Messages.Chdir, 8, { path })],
    ["SetMtime", encode(Messages.SetMtime, 9, { path, mtimeMs: MTIME })],
    ["Read", encode(Messages.Read, 10, read)],
    ["Write", write(11, path, 10)],
    [
      "WriteFile",
      encode(Messages.WriteFile, 12, {
        path,
        mtimeMs: MTIME,
        overwrite: true,
        sha256: digest(content),
        content,
      }),
    ],
    ["ListPartials", encode(Messages.ListPartials, 13, { path })],
    ["DiscardPartials", encode(Messages.DiscardPartials, 14, { path, id: "", all: true })],
    ["ListTree", encode(Messages.ListTree, 15, { path })],
    ["Changes", encode(Messages.Changes, 16, { path, journalId: "", sequence: 0, watch: false })],
    ["RemoveIf", encode(Messages.RemoveIf, 17, { path, expected: ABSENT })],
    ["RenameIf from", encode(Messages.RenameIf, 18, { from: path, to: "/y", expected: ABSENT })],
    [
      "RenameIf to",
      encode(Messages.RenameIf, 19, { from: "/short.txt", to: path, expected: ABSENT }),
    ],
    [
      "WriteIf",
      encode(Messages.WriteIf, 20, {
        path,
        size: 1,
        mtimeMs: MTIME,
        resume: true,
        expected: ABSENT,
      }),
    ],
    [
      "WriteFileIf",
      encode(Messages.WriteFileIf, 21, {
        path,
        mtimeMs: MTIME,
        sha256: digest(content),
        content,
        expected: ABSENT,
      }),
    ],
    [
      "WriteFiles",
      encode(Messages.WriteFiles, 22, {
        overwrite: true,
        files: [{ path, mtimeMs: MTIME, size: content.length, sha256: digest(content) }],
        content,
      }),
    ],
    ["ReadFiles", encode(Messages.ReadFiles, 23, { paths: [path] })],
    [
      "WriteFilesIf",
      encode(Messages.WriteFilesIf, 24, {
        files: [{
          path,
          mtimeMs: MTIME,
          size: content.length,
          sha256: digest(content),
          expected: ABSENT,
        }],
        content,
      }),
    ],
  ];
}

/** A condition that nothing is at the path. */
const ABSENT = { state: "absent" as const, sha256: new Uint8Array() };

/** The status and message of each reply, by request name. */
async function replies(
  requests: [string, Uint8Array][],
  send: (bytes: Uint8Array) => Promise<Frame[]>,
) {
  const frames = await send(concatBytes(...requests.map(([, bytes]) => bytes)));
  return requests.map(([name], index) => {
    const frame = frames.find((candidate) => candidate.id === index + 1);
    // WriteFiles(If) and ReadFiles answer each file apart: their one file's outcome stands for them.
    const error = frame?.type === MESSAGE_TYPE.Error
      ? decode(Messages.Error, frame)
      : frame?.type === MESSAGE_TYPE.FileResults
      ? decode(Messages.FileResults, frame).results[0]
      : frame?.type === MESSAGE_TYPE.FileContents
      ? decode(Messages.FileContents, frame).files[0]
      : undefined;
    return `${name}: ${error ? `${statusName(error.code)} ${error.message}` : frame?.type}`;
  });
}

Deno.test("a path over 3072 bytes gets INVALID_PATH saying the limit in every request type; paths at the limit work", async () => {
  await using server = await startServer();
  const session = await loginRaw(server);
  const send = async (bytes: Uint8Array, count: number) => {
    await sendQuietly(session, bytes);
    const frames: Frame[] = [];
    while (frames.filter((frame) => frame.type !== MESSAGE_TYPE.Data).length < count) {
      const frame = await nextFrame(session, 20_000, "the replies");
      if (frame.type !== MESSAGE_TYPE.ReadInfo) {
        frames.push({ ...frame, payload: frame.payload.slice() });
      }
    }
    return frames;
  };
  try {
    await send(
      encode(Messages.WriteFile, 99, {
        path: "/short.txt",
        mtimeMs: MTIME,
        overwrite: true,
        sha256: digest(new Uint8Array()),
        content: new Uint8Array(),
      }),
      1,
    );
    const types = new Set(everyRequest("/").map(([name]) => name.split(" ")[0]));
    const handled = serverCapabilities().filter((name) => /^[A-Z]/.test(name));
    assert.deepEqual(handled.filter((name) => !types.has(name)), [], "every request type is tried");
    for (const bytes of [MAX_VIRTUAL_PATH_BYTES + 1, 4073, 4096]) {
      const requests = everyRequest(deepPath(bytes));
      const got = await replies(requests, (all) => send(all, requests.length));
      const expected = requests.map(([name]) =>
        `${name}: INVALID_PATH "/${"d".repeat(79)}…": the path is ${bytes} bytes long; ` +
        `paths may be at most ${MAX_VIRTUAL_PATH_BYTES} bytes`
      );
      assert.deepEqual(got, expected, `a path of ${bytes} bytes`);
    }
    // At the limit: a folder is made, a file written, found, listed and read back.
    const longest = deepPath(MAX_VIRTUAL_PATH_BYTES);
    const folder = longest.slice(0, longest.lastIndexOf("/"));
    const content = new TextEncoder().encode("at the limit");
    const frames = await send(
      concatBytes(
        encode(Messages.Mkdir, 1, { path: folder, parents: true }),
        encode(Messages.WriteFile, 2, {
          path: longest,
          mtimeMs: MTIME,
          overwrite: false,
          sha256: digest(content),
          content,
        }),
        encode(Messages.Stat, 3, { path: longest }),
        encode(Messages.Chdir, 4, { path: folder }),
        encode(Messages.Stat, 5, { path: "n".repeat(100) }), // Relative: resolves past the limit.
      ),
      5,
    );
    assert.deepEqual(frames.map((frame) => [frame.id, statusOf(frame)]), [
      [1, "Ok"],
      [2, "Ok"],
      [3, "Attributes"],
      [4, "WorkingDirectory"],
      [5, "INVALID_PATH"],
    ]);
    assert.match(decode(Messages.Error, frames[4]).message, /long once resolved; paths may be/);
  } finally {
    session.close();
  }
  assert.equal(
    await Deno.readTextFile(join(server.storageDir, "alice", ...deepPath(3072).split("/"))),
    "at the limit",
  );
  assert.doesNotMatch(server.output(), /\[ERR\]/);
});

function statusOf(frame: Frame): string {
  if (frame.type === MESSAGE_TYPE.Error) return statusName(decode(Messages.Error, frame).code);
  return Object.entries(MESSAGE_TYPE).find(([, type]) => type === frame.type)?.[0] ?? "?";
}
