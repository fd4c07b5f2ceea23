/**
 * `WriteFiles` (PROTOCOL.md §5.5.2) from the wire: every file gets its own
 * outcome, in order, as its own `WriteFile` would; a frame whose sizes do
 * not add up ends the session and stores nothing; each file is audited on
 * its own; and a tree upload sends its small files this way. `ReadFiles`
 * (§5.4.1) the same way round for downloads.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import {
  decode,
  encode,
  Messages,
  type WireBatchFile,
  type WireCondition,
} from "../../src/protocol/messages.ts";
import { STATUS, statusName } from "../../src/protocol/status.ts";
import { ByteWriter } from "../../src/protocol/bytes.ts";
import {
  openClient,
  readAudit,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { downloadTree, uploadTree } from "../../src/client/tree_transfer.ts";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";
import {
  concatBytes,
  digest,
  loginRaw,
  nextFrame,
  readToEnd,
  sendQuietly,
} from "../helpers/hostile.ts";

const MTIME = 1_700_000_000_123;
const encoder = new TextEncoder();

/** The server's `upload` audit records, once there are `count` of them (one per file). */
async function uploadRecords(server: TestServer, count: number) {
  return await waitFor(
    async () => {
      const records = (await readAudit(server)).filter((record) => record.event === "upload");
      return records.length === count && records;
    },
    20_000,
    "an audit record per file",
  );
}

function file(path: string, content: Uint8Array, sha256 = digest(content)): WireBatchFile {
  return { path, mtimeMs: MTIME, size: content.length, sha256 };
}

Deno.test("WriteFiles answers every file in order, as WriteFile would: stored, EXISTS, CHECKSUM_MISMATCH, INVALID_PATH, NOT_FOUND; the others are stored", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(join(root, "docs"), { recursive: true });
  await Deno.writeTextFile(join(root, "docs", "kept.txt"), "the old one");
  const bytes = ["first", "kept: new", "bad sum", "x", "nowhere", "second", "twice", "again", ""]
    .map((text) => encoder.encode(text));
  const files = [
    file("/docs/a.txt", bytes[0]),
    file("/docs/kept.txt", bytes[1]),
    file("/docs/bad.txt", bytes[2], digest(encoder.encode("something else"))),
    file("/docs/bad\\name", bytes[3]),
    file("/missing/b.txt", bytes[4]),
    file("docs/b.txt", bytes[5]), // Relative: against the working directory.
    file("/docs/twice.txt", bytes[6]),
    file("/docs/twice.txt", bytes[7]), // The first of the two is there by then.
    file("/docs/empty.txt", bytes[8]),
  ];
  const session = await loginRaw(server);
  try {
    await sendQuietly(
      session,
      encode(Messages.WriteFiles, 5, { overwrite: false, files, content: concatBytes(...bytes) }),
    );
    const reply = await nextFrame(session, 20_000, "FileResults");
    assert.equal(reply.id, 5);
    assert.equal(reply.type, MESSAGE_TYPE.FileResults);
    const { results } = decode(Messages.FileResults, reply);
    assert.deepEqual(results.map((result) => result.code === 0 ? "ok" : statusName(result.code)), [
      "ok",
      "EXISTS",
      "CHECKSUM_MISMATCH",
      "INVALID_PATH",
      "NOT_FOUND",
      "ok",
      "ok",
      "EXISTS",
      "ok",
    ]);
    assert.equal(results[0].message, "");
    assert.match(results[1].message, /\/docs\/kept\.txt: already exists/);
    assert.match(results[2].message, /do not match the announced SHA-256/);
  } finally {
    session.close();
  }
  const stored = async (name: string) => await Deno.readTextFile(join(root, "docs", name));
  assert.equal(await stored("a.txt"), "first");
  assert.equal(await stored("kept.txt"), "the old one");
  assert.equal(await stored("b.txt"), "second");
  assert.equal(await stored("twice.txt"), "twice");
  assert.equal(await stored("empty.txt"), "");
  assert.equal((await Deno.stat(join(root, "docs", "a.txt"))).mtime?.getTime(), MTIME);
  const names = [...Deno.readDirSync(join(root, "docs"))].map((entry) => entry.name).sort();
  assert.deepEqual(names, ["a.txt", "b.txt", "empty.txt", "kept.txt", "twice.txt"]);
  // One audit record per file, each with its own result.
  const uploads = await uploadRecords(server, files.length);
  assert.deepEqual(uploads.map((record) => [record.path ?? record.requested, record.result]), [
    ["/docs/a.txt", "ok"],
    ["/docs/kept.txt", "/docs/kept.txt: already exists"],
    ["/docs/bad.txt", "/docs/bad.txt: the bytes received do not match the announced SHA-256"],
    ["/docs/bad\\name", uploads[3].result],
    ["/missing/b.txt", uploads[4].result],
    ["/docs/b.txt", "ok"],
    ["/docs/twice.txt", "ok"],
    ["/docs/twice.txt", "/docs/twice.txt: already exists"],
    ["/docs/empty.txt", "ok"],
  ]);
  assert.equal(uploads[0].bytes, bytes[0].length);
  assert.equal(uploads[5].requested, "docs/b.txt");
  assert.doesNotMatch(server.output(), /\[ERR\]/);
});

Deno.test("a WriteFiles whose sizes do not add up to its content ends the session with PROTOCOL_ERROR and stores nothing", async () => {
  await using server = await startServer();
  const content = encoder.encode("abcdef");
  const session = await loginRaw(server);
  try {
    // Two files announcing 4 bytes where the frame carries 6.
    const files = [
      file("/one.txt", content.subarray(0, 2)),
      file("/two.txt", content.subarray(2, 4)),
    ];
    const writer = new ByteWriter(MESSAGE_TYPE.WriteFiles, 3);
    Messages.WriteFiles.codec.write(writer, { overwrite: false, files, content });
    await sendQuietly(session, writer.finish());
    const ending = await readToEnd(session, 20_000, "the end of the session");
    assert.equal(ending.error?.code, STATUS.PROTOCOL_ERROR);
    assert.match(ending.error?.message ?? "", /announces 4 bytes of files but carries 6/);
    assert.deepEqual(
      ending.frames.filter((frame) => frame.id === 3),
      [],
      "no reply for the request",
    );
  } finally {
    session.close();
  }
  const left = [...Deno.readDirSync(join(server.storageDir, "alice"))].map((entry) => entry.name);
  assert.deepEqual(left.filter((name) => name !== ".dfos"), [], "nothing stored");
});

Deno.test("a tree upload sends its small files in WriteFiles requests, a large one on its own, and keeps each file's content and mtime", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir();
  const connection = await openClient(server);
  try {
    await Deno.mkdir(join(local, "tree", "sub"), { recursive: true });
    const small = Array.from({ length: 600 }, (_, index) => `small ${index}\n`);
    const where = (index: number) => index % 2 === 0 ? "" : "sub";
    for (const [index, text] of small.entries()) {
      const path = join(local, "tree", where(index), `f${index}.txt`);
      await Deno.writeTextFile(path, text);
      await Deno.utime(path, MTIME / 1000, (MTIME + index) / 1000);
    }
    const large = new Uint8Array(300 * 1024).fill(7);
    await Deno.writeFile(join(local, "tree", "large.bin"), large);
    // Count the requests the transfer makes, by type.
    const sent = new Map<string, number>();
    const call = connection.call.bind(connection);
    connection.call = (spec, value) => {
      sent.set(spec.name, (sent.get(spec.name) ?? 0) + 1);
      return call(spec, value);
    };
    const result = await uploadTree(connection, join(local, "tree"), "/tree", {
      progress: SILENT_PROGRESS,
    });
    assert.equal(result.files, small.length + 1);
    assert.deepEqual(result.failures, []);
    assert.equal(sent.get("WriteFile") ?? 0, 0, "no small file on its own");
    const batches = sent.get("WriteFiles") ?? 0;
    assert.ok(batches >= 3 && batches <= 30, `${batches} WriteFiles for ${small.length} files`);
    const root = join(server.storageDir, "alice", "tree");
    for (const [index, text] of small.entries()) {
      const path = join(root, where(index), `f${index}.txt`);
      assert.equal(await Deno.readTextFile(path), text);
      assert.equal((await Deno.stat(path)).mtime?.getTime(), MTIME + index);
    }
    assert.deepEqual(await Deno.readFile(join(root, "large.bin")), large);
    const uploads = await uploadRecords(server, small.length + 1);
    assert.ok(uploads.every((record) => record.result === "ok"));
  } finally {
    await connection.close();
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("ReadFiles answers every file in order, as a Read of it would: its bytes, mtime and SHA-256, or NOT_FOUND, IS_A_DIRECTORY, INVALID_PATH; a file over the batch limit is TOO_LARGE with its size", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(join(root, "docs", "folder"), { recursive: true });
  await Deno.writeTextFile(join(root, "docs", "a.txt"), "first");
  await Deno.writeTextFile(join(root, "docs", "empty.txt"), "");
  await Deno.utime(join(root, "docs", "a.txt"), MTIME / 1000, MTIME / 1000);
  const large = new Uint8Array(300 * 1024).fill(9);
  await Deno.writeFile(join(root, "docs", "large.bin"), large);
  const paths = [
    "/docs/a.txt",
    "/docs/gone.txt",
    "/docs/folder",
    "/docs/bad\\name",
    "/docs/large.bin",
    "docs/empty.txt",
  ];
  const session = await loginRaw(server);
  let reply;
  try {
    await sendQuietly(session, encode(Messages.ReadFiles, 4, { paths }));
    reply = await nextFrame(session, 20_000, "FileContents");
  } finally {
    session.close();
  }
  assert.equal(reply.id, 4);
  assert.equal(reply.type, MESSAGE_TYPE.FileContents);
  const { files, content } = decode(Messages.FileContents, reply);
  assert.deepEqual(files.map((entry) => entry.code === 0 ? "ok" : statusName(entry.code)), [
    "ok",
    "NOT_FOUND",
    "IS_A_DIRECTORY",
    "INVALID_PATH",
    "TOO_LARGE",
    "ok",
  ]);
  assert.equal(new TextDecoder().decode(content), "first", "only the files sent, in order");
  assert.deepEqual([files[0].size, files[0].mtimeMs], [5, MTIME]);
  assert.deepEqual([...files[0].sha256], [...digest(encoder.encode("first"))]);
  assert.equal(files[4].size, large.length);
  assert.deepEqual([files[5].size, [...files[5].sha256]], [0, [...digest(new Uint8Array())]]);
  assert.equal(files[1].sha256.length, 0);
  const downloads = await waitFor(
    async () => {
      const records = (await readAudit(server)).filter((record) => record.event === "download");
      return records.length === paths.length - 1 && records;
    },
    20_000,
    "an audit record per file answered (a TOO_LARGE one is left to its Read)",
  );
  assert.deepEqual(downloads.map((record) => record.result === "ok"), [
    true,
    false,
    false,
    false,
    true,
  ]);
  assert.equal(downloads[3].requested, "/docs/bad\\name");
  assert.doesNotMatch(server.output(), /\[ERR\]/);
});

Deno.test("a tree download fetches its small files in ReadFiles requests and a large one with Read; each arrives verified with its mtime, and a refused one is left alone", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice", "tree");
  await Deno.mkdir(join(root, "sub"), { recursive: true });
  const small = Array.from({ length: 500 }, (_, index) => `small ${index}\n`);
  const where = (index: number) => index % 2 === 0 ? "" : "sub";
  for (const [index, text] of small.entries()) {
    const path = join(root, where(index), `f${index}.txt`);
    await Deno.writeTextFile(path, text);
    await Deno.utime(path, MTIME / 1000, (MTIME + index) / 1000);
  }
  const large = new Uint8Array(300 * 1024).fill(3);
  await Deno.writeFile(join(root, "large.bin"), large);
  const local = await Deno.makeTempDir();
  const connection = await openClient(server);
  try {
    await Deno.mkdir(join(local, "copy"));
    await Deno.writeTextFile(join(local, "copy", "f0.txt"), "mine");
    const sent = new Map<string, number>();
    const call = connection.call.bind(connection);
    connection.call = (spec, value) => {
      sent.set(spec.name, (sent.get(spec.name) ?? 0) + 1);
      return call(spec, value);
    };
    const result = await downloadTree(connection, "/tree", join(local, "copy"), {
      progress: SILENT_PROGRESS,
    });
    assert.deepEqual(result.refused, ["f0.txt"]);
    assert.deepEqual(result.failures, []);
    assert.equal(result.files, small.length);
    const batches = sent.get("ReadFiles") ?? 0;
    assert.ok(batches >= 2 && batches <= 30, `${batches} ReadFiles for ${small.length} files`);
    assert.equal(await Deno.readTextFile(join(local, "copy", "f0.txt")), "mine");
    for (const [index, text] of small.entries()) {
      if (index === 0) continue;
      const path = join(local, "copy", where(index), `f${index}.txt`);
      assert.equal(await Deno.readTextFile(path), text);
      assert.equal((await Deno.stat(path)).mtime?.getTime(), MTIME + index);
    }
    assert.deepEqual(await Deno.readFile(join(local, "copy", "large.bin")), large);
    const left = [...Deno.readDirSync(join(local, "copy"))].filter((e) => e.name.includes("dfos"));
    assert.deepEqual(left, [], "no partial left");
  } finally {
    await connection.close();
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("WriteFilesIf answers every file as WriteFileIf would: stored while its path is as expected, CONFLICT where it is not, BAD_REQUEST for a condition that does not fit; the others are stored", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(join(root, "docs", "folder"), { recursive: true });
  await Deno.writeTextFile(join(root, "docs", "same.txt"), "version one");
  await Deno.writeTextFile(join(root, "docs", "moved-on.txt"), "someone else's");
  const absent = { state: "absent" as const, sha256: new Uint8Array() };
  const fileIs = (text: string) => ({
    state: "file" as const,
    sha256: digest(encoder.encode(text)),
  });
  const entries: [string, string, WireCondition][] = [
    ["/docs/new.txt", "brand new", absent],
    ["/docs/same.txt", "version two", fileIs("version one")],
    ["/docs/moved-on.txt", "my edit", fileIs("what I saw")],
    ["/docs/same.txt", "taken already", absent], // Version two is there by now.
    ["/docs/folder", "over a folder", fileIs("anything")],
    ["/docs/odd.txt", "no digest", { state: "file", sha256: new Uint8Array() }],
    ["/docs/dir.txt", "a folder?", { state: "directory", sha256: new Uint8Array() }],
    ["/docs/last.txt", "last", absent],
  ];
  const bytes = entries.map(([, text]) => encoder.encode(text));
  const files = entries.map(([path, , expected], index) => ({
    ...file(path, bytes[index]),
    expected,
  }));
  const session = await loginRaw(server);
  try {
    await sendQuietly(
      session,
      encode(Messages.WriteFilesIf, 6, { files, content: concatBytes(...bytes) }),
    );
    const reply = await nextFrame(session, 20_000, "FileResults");
    assert.equal(reply.id, 6);
    const { results } = decode(Messages.FileResults, reply);
    assert.deepEqual(results.map((result) => result.code === 0 ? "ok" : statusName(result.code)), [
      "ok",
      "ok",
      "CONFLICT",
      "CONFLICT",
      "CONFLICT",
      "BAD_REQUEST",
      "BAD_REQUEST",
      "ok",
    ]);
    assert.match(results[2].message, /moved-on\.txt/);
  } finally {
    session.close();
  }
  const stored = async (name: string) => await Deno.readTextFile(join(root, "docs", name));
  assert.equal(await stored("new.txt"), "brand new");
  assert.equal(await stored("same.txt"), "version two");
  assert.equal(
    await stored("moved-on.txt"),
    "someone else's",
    "a changed file is never overwritten",
  );
  assert.equal(await stored("last.txt"), "last");
  assert.ok((await Deno.stat(join(root, "docs", "folder"))).isDirectory);
  const names = [...Deno.readDirSync(join(root, "docs"))].map((entry) => entry.name).sort();
  assert.deepEqual(names, ["folder", "last.txt", "moved-on.txt", "new.txt", "same.txt"]);
  const uploads = await uploadRecords(server, files.length);
  assert.deepEqual(uploads.map((record) => record.result === "ok"), [
    true,
    true,
    false,
    false,
    false,
    false,
    false,
    true,
  ]);
});
