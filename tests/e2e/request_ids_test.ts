/**
 * Request ids on the raw protocol (PROTOCOL.md §9): an id is unique among
 * everything in flight on a connection, checked before any reply or side
 * effect; a reuse ends the connection with `Error` id 0 PROTOCOL_ERROR and
 * nothing after it; a torn-down session leaves no upload open. And `Cancel`
 * of a download (§5.6): nothing for the id after the Cancel is processed but
 * its one `Error` CANCELLED.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../../src/protocol/messages.ts";
import { statusName } from "../../src/protocol/status.ts";
import { serverCapabilities } from "../../src/server/handlers.ts";
import { startServer, type TestServer, within } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";
import {
  concatBytes,
  dataFrame,
  digest,
  loginRaw,
  nextFrame,
  type RawSession,
  sendQuietly,
} from "../helpers/hostile.ts";

const BIG = "/big.bin";
/** A download of it lasts the whole test: paced by {@link PACED} whatever the socket buffers hold. */
const BIG_SIZE = 32 * 1024 * 1024;
/**
 * The servers here send at most 1 MiB/s per user: loopback's buffers can
 * take in a whole 32 MiB download unread (tcp_rmem goes up to 32 MiB here),
 * which ended it before a Cancel or a reused id arrived on a busy machine.
 */
const PACED = "--user-rate-limit=1M";
const PROBE_ID = 0x7fff0001;
const MTIME = 1_700_000_000_000;

const read = (id: number, path = BIG) =>
  encode(Messages.Read, id, { path, offset: 0, length: 0, ifSize: 0, ifMtimeMs: 0 });
const write = (id: number, path: string, size: number) =>
  encode(Messages.Write, id, { path, size, mtimeMs: MTIME, overwrite: true, resume: true });
const stat = (id: number, path = "/") => encode(Messages.Stat, id, { path });

/** A frame as received, with `Data` payloads dropped and any `Error` decoded. */
interface Seen {
  type: number;
  id: number;
  error?: string;
}

function seen(frame: Frame): Seen {
  const error = frame.type === MESSAGE_TYPE.Error ? decode(Messages.Error, frame) : undefined;
  return { type: frame.type, id: frame.id, error: error && statusName(error.code) };
}

/** What a connection said after a request reusing an id, followed by a probe. */
interface Outcome {
  frames: Seen[];
  /** The probe was answered: the session went on. */
  served: boolean;
}

/** Reads until the probe is answered or the server closes; rejects after `ms`. */
async function readUntilProbeOrClose(session: RawSession, ms = 20_000): Promise<Outcome> {
  const deadline = Date.now() + ms;
  const frames: Seen[] = [];
  for (;;) {
    const left = Math.max(1, deadline - Date.now());
    const frame = await within(session.reader.next().catch(() => null), left, "reply or close");
    if (!frame) return { frames, served: false };
    if (frame.id === PROBE_ID) return { frames, served: true };
    frames.push(seen(frame));
  }
}

/** Sends `bytes` and a probe, and checks the connection ended with Error id 0 as its last frame. */
async function assertReuseRefused(session: RawSession, bytes: Uint8Array): Promise<Seen[]> {
  await sendQuietly(session, concatBytes(bytes, stat(PROBE_ID)));
  const { frames, served } = await readUntilProbeOrClose(session);
  const summary = frames.filter((frame) => frame.type !== MESSAGE_TYPE.Data)
    .map((frame) => `${frame.id}:${frame.error ?? frame.type}`).join(" ");
  assert.equal(served, false, `the session must end, not go on (${summary})`);
  const last = frames.at(-1);
  assert.deepEqual(
    last,
    { type: MESSAGE_TYPE.Error, id: 0, error: "PROTOCOL_ERROR" },
    `the connection-level Error is the last frame (${summary})`,
  );
  return frames;
}

/** Frames for `id` of `type`. */
function count(frames: Seen[], id: number, type: number): number {
  return frames.filter((frame) => frame.id === id && frame.type === type).length;
}

/** Logs alice in and starts streaming the big file as request `id` (ReadInfo received). */
async function streaming(server: TestServer, id: number): Promise<RawSession> {
  const session = await loginRaw(server);
  await sendQuietly(session, read(id));
  const info = await nextFrame(session, 20_000, "ReadInfo");
  assert.equal(info.type, MESSAGE_TYPE.ReadInfo, "the download starts");
  return session;
}

/** Logs alice in and opens an upload of `size` bytes to `path` as request `id`. */
async function uploading(server: TestServer, id: number, path: string, size: number) {
  const session = await loginRaw(server);
  await sendQuietly(session, write(id, path, size));
  const ready = await nextFrame(session, 20_000, "WriteReady");
  assert.equal(ready.type, MESSAGE_TYPE.WriteReady, "the upload starts");
  return session;
}

/** A fresh session uploads `size` bytes to `path` whole: nothing of an earlier session holds it. */
async function uploadsAgain(server: TestServer, path: string, size: number): Promise<void> {
  const bytes = seededBytes(size, 7);
  const session = await loginRaw(server);
  try {
    await sendQuietly(session, write(1, path, size));
    const ready = await nextFrame(session, 20_000, "WriteReady");
    const refusal = ready.type === MESSAGE_TYPE.Error ? decode(Messages.Error, ready) : undefined;
    assert.equal(
      ready.type,
      MESSAGE_TYPE.WriteReady,
      `${path} can be uploaded again: ${
        refusal && `${statusName(refusal.code)} ${refusal.message}`
      }`,
    );
    const { offset } = decode(Messages.WriteReady, ready);
    await sendQuietly(
      session,
      concatBytes(
        dataFrame(1, bytes.subarray(offset)),
        encode(Messages.DataEnd, 1, { sha256: digest(bytes) }),
      ),
    );
    assert.equal((await nextFrame(session, 20_000, "Ok")).type, MESSAGE_TYPE.Ok);
  } finally {
    session.close();
  }
}

async function withSession(session: RawSession, act: (session: RawSession) => Promise<unknown>) {
  try {
    await act(session);
  } finally {
    session.close();
  }
}

Deno.test("a request reusing an id in flight ends the connection with Error id 0 and nothing after it, before any reply or side effect", async (t) => {
  await using server = await startServer(["--max-sessions-per-user=4", PACED]);
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeFile(join(root, "big.bin"), seededBytes(BIG_SIZE, 1));
  await Deno.writeFile(join(root, "small.txt"), seededBytes(1000, 2));

  await t.step("a Read reusing a streaming Read's id gets no second ReadInfo", async () => {
    await withSession(await streaming(server, 6), async (session) => {
      const frames = await assertReuseRefused(session, read(6));
      assert.equal(count(frames, 6, MESSAGE_TYPE.ReadInfo), 0, "no second ReadInfo");
      assert.equal(count(frames, 6, MESSAGE_TYPE.Error), 0, "no Error CANCELLED for the download");
    });
  });

  await t.step(
    "a Read reusing a streaming Read's id with a missing path is still a reuse",
    async () => {
      await withSession(await streaming(server, 6), async (session) => {
        const frames = await assertReuseRefused(session, read(6, "/missing.bin"));
        assert.equal(count(frames, 6, MESSAGE_TYPE.Error), 0, "no NOT_FOUND as a final reply");
      });
    },
  );

  await t.step("a Stat reusing a streaming Read's id is a reuse too", async () => {
    await withSession(await streaming(server, 6), async (session) => {
      const frames = await assertReuseRefused(session, stat(6));
      assert.equal(count(frames, 6, MESSAGE_TYPE.Attributes), 0);
    });
  });

  await t.step(
    "a Write reusing a streaming Read's id gets no WriteReady and opens nothing",
    async () => {
      await withSession(await streaming(server, 7), async (session) => {
        const frames = await assertReuseRefused(session, write(7, "/w7.bin", 100));
        assert.equal(count(frames, 7, MESSAGE_TYPE.WriteReady), 0, "no WriteReady");
      });
      await uploadsAgain(server, "/w7.bin", 100);
    },
  );

  await t.step(
    "a Read reusing an upload's id is not served, and the upload is closed",
    async () => {
      await withSession(await uploading(server, 8, "/u8.bin", 100), async (session) => {
        const frames = await assertReuseRefused(session, read(8, "/small.txt"));
        assert.equal(count(frames, 8, MESSAGE_TYPE.ReadInfo), 0, "no ReadInfo");
      });
      await uploadsAgain(server, "/u8.bin", 100);
    },
  );

  await t.step(
    "a Write reusing an upload's id opens nothing, and both files can be uploaded again",
    async () => {
      await withSession(await uploading(server, 9, "/a9.bin", 100), async (session) => {
        const frames = await assertReuseRefused(session, write(9, "/b9.bin", 100));
        assert.equal(count(frames, 9, MESSAGE_TYPE.WriteReady), 0, "no WriteReady");
      });
      await uploadsAgain(server, "/b9.bin", 100);
      await uploadsAgain(server, "/a9.bin", 100);
    },
  );

  await t.step(
    "a Write reusing an upload's id for the same file is a reuse, not EXISTS",
    async () => {
      await withSession(await uploading(server, 10, "/c10.bin", 100), async (session) => {
        const frames = await assertReuseRefused(session, write(10, "/c10.bin", 100));
        assert.equal(count(frames, 10, MESSAGE_TYPE.Error), 0, "no EXISTS as a final reply");
      });
      await uploadsAgain(server, "/c10.bin", 100);
    },
  );

  await t.step(
    "a request of every type reusing a download's or an upload's id is a reuse",
    async () => {
      for (const [name, bytes] of everyRequestAs(14)) {
        for (const holder of ["download", "upload"]) {
          const session = holder === "download"
            ? await streaming(server, 14)
            : await uploading(server, 14, "/u14.bin", 100);
          await withSession(session, async () => {
            const frames = await assertReuseRefused(session, bytes).catch((error) => {
              throw new Error(`${name} reusing an ${holder}'s id: ${error.message}`);
            });
            const replies = frames.filter((frame) => frame.id === 14 && !isStream(frame.type));
            assert.deepEqual(replies, [], `${name} reusing an ${holder}'s id: no reply for 14`);
          });
        }
      }
      const names = [...Deno.readDirSync(root)].map((entry) => entry.name);
      assert.deepEqual(names.filter((name) => name.startsWith("r14")), [], "nothing was written");
      assert.ok(names.includes("small.txt"), "nothing was removed or renamed");
      await uploadsAgain(server, "/u14.bin", 100);
    },
  );

  await t.step("an id is free again once its transfer's final reply is sent", async () => {
    await withSession(await streaming(server, 12), async (session) => {
      const tooMuch = seededBytes(200, 3);
      await sendQuietly(
        session,
        concatBytes(
          read(11, "/small.txt"),
          read(11, "/small.txt"), // After a download answered at once,
          encode(Messages.Cancel, 12, {}),
          read(12, "/small.txt"), // after a Cancel of a streaming one,
          write(13, "/u13.bin", 100),
          dataFrame(13, tooMuch),
          write(13, "/u13.bin", 100), // after a failed upload (TOO_LARGE).
          stat(PROBE_ID),
        ),
      );
      const { frames, served } = await readUntilProbeOrClose(session);
      assert.ok(served, "the session goes on");
      assert.deepEqual(frames.filter((frame) => frame.id === 0), []);
      assert.equal(count(frames, 11, MESSAGE_TYPE.DataEnd), 2);
      assert.equal(count(frames, 12, MESSAGE_TYPE.DataEnd), 1, "the new download 12 ends");
      assert.equal(count(frames, 13, MESSAGE_TYPE.WriteReady), 2, "the new upload 13 starts");
    });
  });

  assert.doesNotMatch(server.output(), /\[ERR\]/);
});

Deno.test("after Cancel of a streaming download nothing for its id follows but its Error CANCELLED, sent before later replies", async () => {
  await using server = await startServer([PACED]);
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeFile(join(root, "big.bin"), seededBytes(BIG_SIZE, 3));
  await withSession(await streaming(server, 5), async (session) => {
    // The download fills the socket buffers; the Cancel and the Stat queue behind its Data.
    await sendQuietly(session, concatBytes(encode(Messages.Cancel, 5, {}), stat(6)));
    const frames: Seen[] = [];
    const readUntil = async (id: number) => {
      while (count(frames, id, MESSAGE_TYPE.Attributes) === 0) {
        frames.push(seen(await nextFrame(session, 20_000, `the reply to Stat ${id}`)));
      }
    };
    await readUntil(6);
    // Whatever was still on its way for 5 would arrive before the reply to a Stat sent now.
    await sendQuietly(session, stat(7));
    await readUntil(7);
    const afterStat = frames.slice(frames.findIndex((frame) => frame.id === 6));
    assert.deepEqual(afterStat.filter((frame) => frame.id === 5), [], "nothing for 5 after Stat 6");
    const ends = frames.filter((frame) => frame.id === 5 && frame.type !== MESSAGE_TYPE.Data);
    assert.deepEqual(ends, [{ type: MESSAGE_TYPE.Error, id: 5, error: "CANCELLED" }]);
    assert.deepEqual(frames.filter((frame) => frame.id === 0), []);
  });
});

Deno.test("a Cancel sent right behind a Read that waits for its turn cancels that download", async () => {
  await using server = await startServer([PACED]);
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeFile(join(root, "big.bin"), seededBytes(BIG_SIZE, 4));
  const session = await loginRaw(server);
  try {
    const content = seededBytes(1000, 5);
    const writeFile = encode(Messages.WriteFile, 4, {
      path: "/first.bin",
      mtimeMs: MTIME,
      overwrite: true,
      sha256: digest(content),
      content,
    });
    // The Read waits for the WriteFile before it (a read never overtakes a write) when the Cancel arrives.
    await sendQuietly(
      session,
      concatBytes(writeFile, read(5), encode(Messages.Cancel, 5, {}), stat(6)),
    );
    const frames: Seen[] = [];
    while (count(frames, 6, MESSAGE_TYPE.Attributes) === 0) {
      frames.push(seen(await nextFrame(session, 20_000, "the reply to Stat 6")));
    }
    const ends = frames.filter((frame) => frame.id === 5 && frame.type !== MESSAGE_TYPE.Data);
    assert.deepEqual(ends, [
      { type: MESSAGE_TYPE.ReadInfo, id: 5, error: undefined },
      { type: MESSAGE_TYPE.Error, id: 5, error: "CANCELLED" },
    ]);
    assert.deepEqual(frames.filter((frame) => frame.id === 0), []);
  } finally {
    session.close();
  }
});

/** Transfer frames a download or an upload sends on its own id. */
function isStream(type: number): boolean {
  return type === MESSAGE_TYPE.Data || type === MESSAGE_TYPE.DataZstd;
}

/** One request of every type the server handles, as `id`; what they would write is named r14…. */
function everyRequestAs(id: number): [string, Uint8Array][] {
  const content = new TextEncoder().encode("x");
  const expected = { state: "absent" as const, sha256: new Uint8Array() };
  const requests: [string, Uint8Array][] = [
    ["List", encode(Messages.List, id, { path: "/" })],
    ["Stat", stat(id)],
    ["Chdir", encode(Messages.Chdir, id, { path: "/" })],
    ["Mkdir", encode(Messages.Mkdir, id, { path: "/r14-dir", parents: false })],
    ["Rmdir", encode(Messages.Rmdir, id, { path: "/r14-none" })],
    ["Remove", encode(Messages.Remove, id, { path: "/small.txt", recursive: false })],
    ["Rename", encode(Messages.Rename, id, { from: "/small.txt", to: "/r14", overwrite: true })],
    ["SetMtime", encode(Messages.SetMtime, id, { path: "/small.txt", mtimeMs: MTIME })],
    ["Read", read(id, "/small.txt")],
    ["Write", write(id, "/r14-write", 100)],
    [
      "WriteFile",
      encode(Messages.WriteFile, id, {
        path: "/r14-file",
        mtimeMs: MTIME,
        overwrite: true,
        sha256: digest(content),
        content,
      }),
    ],
    ["ListPartials", encode(Messages.ListPartials, id, { path: "/" })],
    ["DiscardPartials", encode(Messages.DiscardPartials, id, { path: "/", id: "", all: true })],
    ["ListTree", encode(Messages.ListTree, id, { path: "/" })],
    [
      "Changes",
      encode(Messages.Changes, id, { path: "/", journalId: "", sequence: 0, watch: true }),
    ],
    [
      "WriteIf",
      encode(Messages.WriteIf, id, {
        path: "/r14-if",
        size: 1,
        mtimeMs: MTIME,
        resume: true,
        expected,
      }),
    ],
    [
      "WriteFileIf",
      encode(Messages.WriteFileIf, id, {
        path: "/r14-file-if",
        mtimeMs: MTIME,
        sha256: digest(content),
        content,
        expected,
      }),
    ],
    ["ReadFiles", encode(Messages.ReadFiles, id, { paths: ["/small.txt"] })],
    [
      "WriteFiles",
      encode(Messages.WriteFiles, id, {
        overwrite: true,
        files: [{ path: "/r14-files", mtimeMs: MTIME, size: 1, sha256: digest(content) }],
        content,
      }),
    ],
    [
      "WriteFilesIf",
      encode(Messages.WriteFilesIf, id, {
        files: [{
          path: "/r14-files-if",
          mtimeMs: MTIME,
          size: 1,
          sha256: digest(content),
          expected,
        }],
        content,
      }),
    ],
    ["RemoveIf", encode(Messages.RemoveIf, id, { path: "/r14-none", expected })],
    ["RenameIf", encode(Messages.RenameIf, id, { from: "/small.txt", to: "/r14-if", expected })],
  ];
  const handled = serverCapabilities().filter((name) => /^[A-Z]/.test(name));
  const tried = new Set(requests.map(([name]) => name));
  assert.deepEqual(handled.filter((name) => !tried.has(name)), [], "every request type is tried");
  return requests;
}
