/**
 * Small whole files sent back to back are stored while earlier ones are
 * still being synced, but every reply, refusal and effect comes in the
 * order the requests did (PROTOCOL.md §5.2).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { decode, encode, Messages } from "../../src/protocol/messages.ts";
import { statusName } from "../../src/protocol/status.ts";
import { startServer, within } from "../helpers/processes.ts";
import { seededBytes, sha256, sha256File } from "../helpers/files.ts";
import { concatBytes, digest, loginRaw, sendQuietly } from "../helpers/hostile.ts";

const MTIME = 1_700_000_000_000;
const PROBE_ID = 9_999;

Deno.test("100 WriteFile requests in a row: answered in order, a bad one refused in its place, a later Stat sees them all", async () => {
  await using server = await startServer();
  const session = await loginRaw(server);
  try {
    const frames: Uint8Array[] = [];
    const contents = new Map<number, Uint8Array>();
    for (let id = 1; id <= 100; id++) {
      const content = seededBytes(3000 + id, id);
      contents.set(id, content);
      const sha256 = id === 40 ? digest(new Uint8Array(1)) : digest(content); // 40 lies.
      const path = id === 70 ? "/f1.bin" : `/f${id}.bin`; // 70 writes 1's name again.
      frames.push(
        encode(Messages.WriteFile, id, { path, mtimeMs: MTIME, overwrite: false, sha256, content }),
      );
    }
    frames.push(encode(Messages.Stat, PROBE_ID, { path: "/f100.bin" }));
    await sendQuietly(session, concatBytes(...frames));
    const replies: string[] = [];
    for (;;) {
      const frame = await within(session.reader.next(), 30_000, "replies");
      assert.ok(frame, "the session goes on");
      if (frame.id === PROBE_ID) {
        assert.equal(frame.type, MESSAGE_TYPE.Attributes, "the Stat after them sees the last file");
        break;
      }
      const error = frame.type === MESSAGE_TYPE.Error ? decode(Messages.Error, frame) : undefined;
      replies.push(`${frame.id}:${error ? statusName(error.code) : "Ok"}`);
    }
    const expected = Array.from({ length: 100 }, (_, index) => {
      const id = index + 1;
      return `${id}:${id === 40 ? "CHECKSUM_MISMATCH" : id === 70 ? "EXISTS" : "Ok"}`;
    });
    assert.deepEqual(replies, expected);
    const root = join(server.storageDir, "alice");
    for (const [id, content] of contents) {
      if (id === 40 || id === 70) continue;
      assert.equal(await sha256File(join(root, `f${id}.bin`)), sha256(content), `f${id}`);
    }
    await assert.rejects(Deno.stat(join(root, "f40.bin")), Deno.errors.NotFound);
    assert.equal(await sha256File(join(root, "f1.bin")), sha256(contents.get(1)!));
  } finally {
    session.close();
  }
});

Deno.test("Reads sent behind WriteFiles of the same names see what those wrote; 100 Reads in a row are answered in order", async () => {
  await using server = await startServer();
  const session = await loginRaw(server);
  try {
    const frames: Uint8Array[] = [];
    const contents = new Map<string, Uint8Array>();
    for (let index = 0; index < 100; index++) {
      const path = `/r${index}.bin`;
      const content = seededBytes(500 + index, index);
      contents.set(path, content);
      const write = { path, mtimeMs: MTIME, overwrite: true, sha256: digest(content), content };
      frames.push(encode(Messages.WriteFile, 1 + index, write));
    }
    // Each name read right behind its write, then all of them again: no reply waited for.
    const reads = [...contents.keys(), ...contents.keys()];
    reads.forEach((path, index) =>
      frames.push(
        encode(Messages.Read, 1000 + index, {
          path,
          offset: 0,
          length: 0,
          ifSize: 0,
          ifMtimeMs: 0,
        }),
      )
    );
    await sendQuietly(session, concatBytes(...frames));
    const order: number[] = [];
    const received = new Map<number, Uint8Array[]>();
    for (let ended = 0; ended < reads.length;) {
      const frame = await within(session.reader.next(), 30_000, "replies");
      assert.ok(frame, "the session goes on");
      assert.notEqual(frame.type, MESSAGE_TYPE.Error, `request ${frame.id} failed`);
      if (frame.id < 1000) continue; // The writes' Ok.
      if (frame.type === MESSAGE_TYPE.ReadInfo) order.push(frame.id);
      if (frame.type === MESSAGE_TYPE.Data) {
        received.set(frame.id, [...received.get(frame.id) ?? [], frame.payload.slice()]);
      }
      if (frame.type === MESSAGE_TYPE.DataEnd) ended++;
    }
    assert.deepEqual(order, reads.map((_, index) => 1000 + index), "ReadInfo in request order");
    reads.forEach((path, index) => {
      const bytes = concatBytes(...(received.get(1000 + index) ?? []));
      assert.equal(sha256(bytes), sha256(contents.get(path)!), `${path}, read ${index}`);
    });
  } finally {
    session.close();
  }
});
