/**
 * What PROTOCOL.md says and a second implementation would rely on, checked
 * on the raw protocol against the server: outcomes the document lists,
 * how connections end (TLS close_notify), the Hello capabilities the server
 * reads, the Data payload a receiver accepts, when `Queued` is sent, and
 * which downloads the limit of 8 holds back; and that its tables of message
 * types, status codes and capabilities are the code's, message types in order.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_CHUNK_SIZE, MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../../src/protocol/messages.ts";
import { STATUS, statusName } from "../../src/protocol/status.ts";
import { serverCapabilities } from "../../src/server/handlers.ts";
import { startServer, type TestServer, USERS } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";
import {
  concatBytes,
  dataFrame,
  digest,
  helloFrame,
  loginRaw,
  nextFrame,
  openTls,
  rawFrame,
  type RawSession,
  sendQuietly,
} from "../helpers/hostile.ts";

const MTIME = 1_700_000_000_000;
const readFrame = (id: number, path: string) =>
  encode(Messages.Read, id, { path, offset: 0, length: 0, ifSize: 0, ifMtimeMs: 0 });

/** "Ok", "Attributes", … or the status name of an `Error`. */
function outcome(frame: Frame): string {
  if (frame.type === MESSAGE_TYPE.Error) return statusName(decode(Messages.Error, frame).code);
  return Object.entries(MESSAGE_TYPE).find(([, type]) => type === frame.type)?.[0] ?? "?";
}

async function aliceRoot(server: TestServer): Promise<string> {
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  return root;
}

async function closing(session: RawSession, act: () => Promise<void>): Promise<void> {
  try {
    await act();
  } finally {
    session.close();
  }
}

Deno.test("outcomes PROTOCOL.md §5.2 lists, and the end of a connection with TLS close_notify", async (t) => {
  await using server = await startServer(["--max-sessions-per-user=3"]);
  const root = await aliceRoot(server);
  await Deno.mkdir(join(root, "dir"));
  await Deno.mkdir(join(root, "full", "inside"), { recursive: true });
  await Deno.writeTextFile(join(root, "file.txt"), "x");
  await Deno.writeTextFile(join(root, "other.txt"), "y");
  await Deno.symlink(join(root, "nowhere"), join(root, "dangling"));

  await t.step("Chdir, Mkdir, Rename and Stat outcomes", async () => {
    const session = await loginRaw(server);
    await closing(session, async () => {
      const requests: [string, Uint8Array][] = [
        ["Chdir to a missing folder", encode(Messages.Chdir, 1, { path: "/missing" })],
        [
          "Mkdir with parents onto a file",
          encode(Messages.Mkdir, 2, { path: "/file.txt", parents: true }),
        ],
        [
          "Rename with overwrite of a file onto a folder",
          encode(Messages.Rename, 3, { from: "/file.txt", to: "/dir", overwrite: true }),
        ],
        [
          "Rename with overwrite of a folder onto a file",
          encode(Messages.Rename, 4, { from: "/dir", to: "/other.txt", overwrite: true }),
        ],
        ["Stat of a dangling link", encode(Messages.Stat, 5, { path: "/dangling" })],
        [
          "Rename with overwrite of a folder onto a folder with entries",
          encode(Messages.Rename, 6, { from: "/dir", to: "/full", overwrite: true }),
        ],
      ];
      await sendQuietly(session, concatBytes(...requests.map(([, bytes]) => bytes)));
      const got: string[] = [];
      for (const [name] of requests) {
        got.push(`${name}: ${outcome(await nextFrame(session, 20_000, name))}`);
      }
      assert.deepEqual(got, [
        "Chdir to a missing folder: NOT_FOUND",
        "Mkdir with parents onto a file: EXISTS",
        "Rename with overwrite of a file onto a folder: IS_A_DIRECTORY",
        "Rename with overwrite of a folder onto a file: NOT_A_DIRECTORY",
        "Stat of a dangling link: NOT_FOUND",
        "Rename with overwrite of a folder onto a folder with entries: NOT_EMPTY",
      ]);
    });
    assert.equal(await Deno.readTextFile(join(root, "file.txt")), "x", "nothing was replaced");
  });

  for (
    const [name, bytes] of [
      ["Goodbye", encode(Messages.Goodbye, 0, {})],
      ["a protocol error", rawFrame(0x7f, 1, [])],
    ] as const
  ) {
    await t.step(
      `after ${name} the server ends TLS with close_notify: a clean end of stream`,
      async () => {
        const session = await loginRaw(server);
        await closing(session, async () => {
          await sendQuietly(session, bytes);
          const types: number[] = [];
          // A close without close_notify makes the TLS stream throw (UnexpectedEof) instead.
          for (
            let frame = await session.reader.next();
            frame;
            frame = await session.reader.next()
          ) {
            types.push(frame.type);
          }
          assert.deepEqual(types, name === "Goodbye" ? [] : [MESSAGE_TYPE.Error]);
        });
      },
    );
  }
});

Deno.test("the server reads zstd from the Hello capabilities, and takes a Data payload above 1 MiB within the frame limit", async () => {
  await using server = await startServer(["--max-sessions-per-user=2"]);
  const root = await aliceRoot(server);
  await Deno.writeTextFile(join(root, "text.txt"), "the same line again\n".repeat(30_000)); // 600 kB
  for (const capabilities of [[], ["zstd"]]) {
    const session = await loginRaw(server, "alice", 10_000, capabilities);
    await closing(session, async () => {
      await sendQuietly(session, readFrame(1, "/text.txt"));
      const types = new Set<string>();
      for (
        let frame = await nextFrame(session, 20_000, "download");;
        frame = await nextFrame(session, 20_000, "download")
      ) {
        types.add(outcome(frame));
        if (
          frame.type !== MESSAGE_TYPE.Data && frame.type !== MESSAGE_TYPE.DataZstd &&
          frame.type !== MESSAGE_TYPE.ReadInfo
        ) break;
      }
      const expected = capabilities.length
        ? ["ReadInfo", "DataZstd", "DataEnd"]
        : ["ReadInfo", "Data", "DataEnd"];
      assert.deepEqual([...types], expected, `Hello offering [${capabilities}]`);
    });
  }
  const bytes = seededBytes(MAX_CHUNK_SIZE + 4096, 9);
  const session = await loginRaw(server);
  await closing(session, async () => {
    const write = {
      path: "/large.bin",
      size: bytes.length,
      mtimeMs: MTIME,
      overwrite: true,
      resume: false,
    };
    await sendQuietly(session, encode(Messages.Write, 1, write));
    assert.equal(outcome(await nextFrame(session, 20_000, "WriteReady")), "WriteReady");
    await sendQuietly(
      session,
      concatBytes(dataFrame(1, bytes), encode(Messages.DataEnd, 1, { sha256: digest(bytes) })),
    );
    assert.equal(
      outcome(await nextFrame(session, 20_000, "Ok")),
      "Ok",
      "one Data of 1 MiB + 4 KiB",
    );
  });
  assert.deepEqual(await Deno.readFile(join(root, "large.bin")), bytes);
});

/** A connection that has sent `Hello`: the frames it got so far, and how to read on or send `Auth`. */
async function arriving(server: TestServer, user: keyof typeof USERS) {
  const session = await openTls(server);
  await sendQuietly(session, helloFrame());
  const frames: Frame[] = [];
  const next = async () => {
    const frame = await session.reader.next();
    if (!frame) throw new Error(`${user}: connection closed`);
    frames.push({ ...frame, payload: frame.payload.slice() });
    return frame;
  };
  const auth = () =>
    sendQuietly(session, encode(Messages.Auth, 0, { user, password: USERS[user] }));
  return { session, frames, next, auth };
}

function queued(frame: Frame): string {
  if (frame.type !== MESSAGE_TYPE.Queued) return outcome(frame);
  const { position, waiting } = decode(Messages.Queued, frame);
  return `Queued ${position}/${waiting}`;
}

Deno.test("Queued comes right after Welcome, before any Auth, and not again when others join behind", async () => {
  await using server = await startServer(["--max-clients=1"]);
  const alice = await loginRaw(server);
  const bob = await arriving(server, "bob");
  let carol: Awaited<ReturnType<typeof arriving>> | undefined;
  try {
    assert.equal(queued(await bob.next()), "Welcome");
    assert.equal(queued(await bob.next()), "Queued 1/1", "before bob sent Auth");
    carol = await arriving(server, "carol"); // Only now, so that it queues behind bob.
    assert.equal(queued(await carol.next()), "Welcome");
    assert.equal(queued(await carol.next()), "Queued 2/2");
    await bob.auth();
    alice.close(); // Frees the slot: bob is admitted, carol moves up.
    assert.equal(queued(await carol.next()), "Queued 1/1");
    while (bob.frames.at(-1)?.type !== MESSAGE_TYPE.AuthOk) await bob.next();
    // Position 0 reports a slow password check (PROTOCOL.md §5.1), another wait: not counted here.
    assert.deepEqual(
      bob.frames.map(queued).filter((name) => !name.startsWith("Queued 0/")),
      ["Welcome", "Queued 1/1", "AuthOk"],
      "carol joining told bob nothing",
    );
  } finally {
    for (const session of [alice, bob.session, carol?.session]) session?.close();
  }
});

Deno.test("the limit of 8 downloads holds back only Reads that stream, not those answered at once", async () => {
  await using server = await startServer();
  const root = await aliceRoot(server);
  await Deno.writeFile(join(root, "big.bin"), seededBytes(24 * 1024 * 1024, 5));
  await Deno.writeTextFile(join(root, "small.txt"), "small");
  const streams = [1, 2, 3, 4, 5, 6, 7, 8];
  const stat = encode(Messages.Stat, 10, { path: "/" });
  /** Sends 8 streaming Reads of `length` bytes, then `read`, then a Stat, all in one write. */
  const outcomeOf = async (length: number, read: Uint8Array) => {
    const session = await loginRaw(server);
    const frames: Frame[] = [];
    await closing(session, async () => {
      const big = (id: number) =>
        encode(Messages.Read, id, { path: "/big.bin", offset: 0, length, ifSize: 0, ifMtimeMs: 0 });
      await sendQuietly(session, concatBytes(...streams.map(big), read, stat));
      while (!frames.some((frame) => frame.id === 10)) {
        const frame = await nextFrame(session, 20_000, "the reply to the Stat");
        if (frame.type !== MESSAGE_TYPE.Data) frames.push(frame);
      }
    });
    return {
      streamsEnded: frames.filter((frame) => frame.id <= 8 && outcome(frame) === "DataEnd").length,
      readEnded: frames.some((frame) => frame.id === 9 && outcome(frame) === "DataEnd"),
    };
  };
  // The server handles these frames in a few ms, long before a 24 MiB stream can end.
  assert.deepEqual(
    await outcomeOf(0, readFrame(9, "/small.txt")),
    { streamsEnded: 0, readEnded: true },
    "a small Read is answered at once while 8 stream",
  );
  const ninth = await outcomeOf(1024 * 1024, readFrame(9, "/big.bin"));
  assert.ok(ninth.streamsEnded >= 1, "a ninth streaming Read waits until one of the 8 has ended");
});

const DOCUMENT = new URL("../../PROTOCOL.md", import.meta.url);

Deno.test("PROTOCOL.md lists every message type, status code and capability the code has, and no other", async () => {
  const text = await Deno.readTextFile(DOCUMENT);
  const types = new Map<string, number>();
  for (const match of text.matchAll(/\| (0x[0-9a-f]{2}) \| (\w+)\s+\| (?:C→S|S→C|both)/g)) {
    types.set(match[2], Number(match[1]));
  }
  assert.deepEqual(Object.fromEntries(types), { ...MESSAGE_TYPE }, "section 3.1");
  const codes = new Map<string, number>();
  for (const match of text.matchAll(/^\| (\d+)\s+\| ([A-Z_]+)\s+\|/gm)) {
    codes.set(match[2], Number(match[1]));
  }
  assert.deepEqual(Object.fromEntries(codes), { ...STATUS }, "section 6");
  const listed =
    text.match(/The reference server's capabilities are, in this order: ([\s\S]+?)\)\./)?.[1] ?? "";
  const names = new Set([...listed.matchAll(/`(\w+)`/g)].map((match) => match[1]));
  assert.deepEqual([...names], serverCapabilities(), "section 5.1");
});

Deno.test("each table of PROTOCOL.md §3.1 lists its types in ascending order, column by column", async () => {
  const text = await Deno.readTextFile(DOCUMENT);
  const section = text.slice(text.indexOf("### 3.1"), text.indexOf("## 4."));
  const tables = section.split(/\n(?!\|)/).filter((block) => block.includes("| 0x"));
  assert.equal(tables.length, 3, "section 3.1 has three tables");
  for (const table of tables) {
    const rows = table.split("\n").map((row) => row.split("|").map((cell) => cell.trim()));
    const column = (at: number) =>
      rows.map((cells) => cells[at]).filter((cell) => /^0x/.test(cell));
    const order = [...column(1), ...column(6)];
    const sorted = [...order].sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(order, sorted, `the table of ${order[0]}, ${order[1]}, …`);
  }
});
