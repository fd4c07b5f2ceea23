/**
 * Unfinished uploads count against the quota; the user sees them with
 * `partials`, is told of them when the quota refuses an upload, and frees
 * them with `partials rm`. Through the real CLI, and on the raw protocol for
 * what the CLI cannot show (ids, uploads in progress, the reply's bounds).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RemoteError } from "../../src/client/errors.ts";
import type { ClientConnection } from "../../src/client/connection.ts";
import { DEFAULT_CHUNK_SIZE, FRAME_HEADER_SIZE } from "../../src/protocol/constants.ts";
import { encode, Messages, writeDataHeader } from "../../src/protocol/messages.ts";
import { formatBytes } from "../../src/shared/format_bytes.ts";
import { partialFileName } from "../../src/storage/local_upload.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import { partialListing, partialSizes, userStorage } from "../helpers/partials.ts";
import {
  openClient,
  readAudit,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";

const MiB = 1024 * 1024;

/** Starts `put NAME` slowly, kills the client once `atLeast` bytes are on the server. */
async function killUploadPartWay(server: TestServer, local: string, name: string, atLeast: number) {
  const upload = spawnClient(server, ["--limit-rate=2M", "put", name], { cwd: local });
  await waitFor(async () => ((await partialSizes(server))[0] ?? 0) >= atLeast, 20_000, "bytes");
  upload.child.kill("SIGKILL");
  await upload.finish();
  // One session per user: a login works once the server has let the killed one go.
  await waitFor(async () => (await runClient(server, ["pwd"])).code === 0, 10_000, "session freed");
  const [received] = await partialSizes(server);
  assert.ok(received >= atLeast && received < 8 * MiB, `partial holds ${received} bytes`);
  return received;
}

Deno.test("a killed upload's partial is listed, named by the quota refusal, and freed by partials rm", async () => {
  await using server = await startServer(["--quota=10M"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await writeLargeFile(join(local, "a.bin"), 8 * MiB, 1);
  await writeLargeFile(join(local, "b.bin"), 8 * MiB, 2);
  const received = await killUploadPartWay(server, local, "a.bin", 3 * MiB);

  const listed = await runClient(server, ["partials"]);
  assert.equal(listed.code, 0, listed.stderr);
  const line = listed.stdout.split("\n").find((text) => text.endsWith(" /a.bin"));
  assert.ok(line, listed.stdout);
  assert.match(line, new RegExp(`^ *${formatBytes(received)} of +8\\.0 MiB `));
  assert.match(listed.stdout, /^1 unfinished upload, \d+\.\d MiB of your quota in all;/m);
  assert.equal((await runClient(server, ["ls"])).stdout, "", "still hidden from listings");

  const refused = await runClient(server, ["put", "b.bin"], { cwd: local });
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^dfos: put: \/b\.bin: quota exceeded: the upload needs 8\.0 MiB, but only \d\.\d MiB of alice's 10\.0 MiB quota is free \(\d\.\d MiB of the usage is unfinished uploads: `partials` lists them, `partials rm` discards them\)\n$/,
  );

  await refusedInputsChangeNothing(server, received);

  const discarded = await runClient(server, ["partials", "rm", "a.bin"]);
  assert.equal(discarded.code, 0, discarded.stderr);
  assert.equal((await runClient(server, ["partials"])).stdout, "no unfinished uploads\n");
  const { count, bytes } = await partialListing(server);
  assert.deepEqual({ count, bytes }, { count: 0, bytes: 0 }, "no partial and no record left");
  const stored = await runClient(server, ["put", "b.bin"], { cwd: local });
  assert.equal(stored.code, 0, `room again at once: ${stored.stderr}`);
  assert.equal(
    await sha256File(join(server.storageDir, "alice", "b.bin")),
    await sha256File(join(local, "b.bin")),
  );

  const discards = (await readAudit(server)).filter((event) => event.event === "discard-partials");
  const ok = discards.filter((event) => event.result === "ok");
  assert.equal(ok.length, 1);
  assert.equal(ok[0].path, "/a.bin");
  assert.ok((ok[0].bytes as number) >= received, "the audit says what was freed");
  assert.equal(discards.length, 7, "refused discards are audited too");
  await Deno.remove(local, { recursive: true });
});

/** Bad `partials rm` inputs: a clear error and exit code each, and the partial untouched. */
async function refusedInputsChangeNothing(server: TestServer, received: number): Promise<void> {
  const cases: [string[], number, RegExp][] = [
    [["partials", "rm"], 2, /^dfos: partials: usage: partials rm PATH\.\.\. \| /],
    [["partials", "rm", "--all", "--id", "x"], 2, /--all and --id exclude each other/],
    [["partials", "rm", "nope.bin"], 1, /^dfos: partials: \/nope\.bin: no unfinished upload/],
    [["partials", "rm", "../../../etc/passwd"], 1, /^dfos: partials: \/etc\/passwd: no unfini/],
    [["partials", "rm", "/.dfos/partial"], 1, /\/\.dfos\/partial: the name \.dfos .* is reserved/],
    [["partials", "rm", "--id", "../a.bin"], 1, /no unfinished upload has the id "\.\.\/a\.bin"/],
    [["partials", "rm", "nope.bin", "a\\b"], 1, /2 of 2 could not be discarded/],
  ];
  for (const [args, code, message] of cases) {
    const result = await runClient(server, args);
    assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
  }
  const sizes = await partialSizes(server);
  assert.deepEqual(sizes, [received], "the partial is untouched");
  assert.match((await runClient(server, ["help"])).stdout, /^ {2}partials \[rm /m);
}

Deno.test("on the wire: ids, uploads in progress, and a bounded PartialList", async () => {
  await using server = await startServer();
  const connection = await openClient(server);
  try {
    assert.ok(connection.capabilities.includes("ListPartials"));
    assert.ok(connection.capabilities.includes("DiscardPartials"));
    await uploadInProgressIsKept(connection);
    await plantPartials(server);
    const listing = await connection.listPartials("/");
    assert.equal(listing.count, 1100);
    assert.equal(listing.more, true);
    const longOnes = listing.entries.filter((entry) => entry.path.length > 1000).length;
    assert.ok(longOnes > 0 && longOnes < 200, `cut by bytes: ${longOnes} of 200 long paths`);
    const legacy = listing.entries.find((entry) => entry.path === "")!;
    assert.deepEqual([legacy.size, legacy.mtimeMs, legacy.received], [0, 0, 3]);
    assert.equal((await connection.listPartials("/short")).entries.length, 899);
    const all = await connection.discardPartials({ path: "/", id: "", all: true });
    assert.deepEqual([all.count, all.busy], [1100, 0]);
    assert.equal((await connection.listPartials("/")).count, 0);
  } finally {
    await connection.close();
  }
});

/** A `Write` with one `Data` frame: listed as active, refused for discarding, kept by `Cancel`. */
async function uploadInProgressIsKept(connection: ClientConnection): Promise<void> {
  const write = { path: "/live.bin", size: 2 * DEFAULT_CHUNK_SIZE, mtimeMs: 5, overwrite: false };
  let id = 0;
  await connection.exchange(Messages.Write, { ...write, resume: true }, (frame, requestId) => {
    assert.equal(frame.type, Messages.WriteReady.type);
    id = requestId;
    return true;
  });
  const data = new Uint8Array(FRAME_HEADER_SIZE + 1000).fill(9);
  await connection.sendFrame(writeDataHeader(data, id, 1000));
  const [live] = (await connection.listPartials("/")).entries;
  assert.deepEqual(
    { ...live, id: "", writtenMs: 0 },
    {
      id: "",
      path: "/live.bin",
      size: write.size,
      mtimeMs: 5,
      received: 1000,
      writtenMs: 0,
      active: true,
    },
  );
  assert.equal(live.id, partialFileName("/live.bin", write.size, 5));
  const refusal = await connection.discardPartials({ path: "live.bin", id: "", all: false })
    .catch((error) => error);
  assert.ok(refusal instanceof RemoteError && refusal.status === "EXISTS", String(refusal));
  const all = await connection.discardPartials({ path: "/", id: "", all: true });
  assert.deepEqual(all, { count: 0, bytes: 0, busy: 1 });
  const both = await connection.discardPartials({ path: "/", id: live.id, all: true })
    .catch((error) => error);
  assert.ok(both instanceof RemoteError && both.status === "BAD_REQUEST", String(both));
  await connection.sendFrame(encode(Messages.Cancel, id, {}));
  const [kept] = (await connection.listPartials("/")).entries;
  assert.deepEqual([kept.active, kept.received], [false, 1000], "Cancel keeps it for a resume");
  const byId = await connection.discardPartials({ path: "/", id: live.id, all: false });
  assert.equal(byId.count, 1);
  assert.ok(byId.bytes >= 1000);
}

/**
 * 200 partials with paths of 3,000 bytes and 899 short ones, left through
 * the storage interface; and one the local backend kept from before it wrote
 * records beside its partials (its path unknown), planted on its disk.
 */
async function plantPartials(server: TestServer): Promise<void> {
  const storage = await userStorage(server);
  const plant = async (path: string) => {
    const upload = await storage.beginUpload(path, { size: 10, mtimeMs: 1 });
    await upload.write(new TextEncoder().encode("abc"));
    await upload.abort(true);
  };
  const deep = `/long${`/${"x".repeat(199)}`.repeat(15)}`; // Near the 3072-byte limit.
  await storage.mkdir(deep, { parents: true });
  for (let index = 0; index < 200; index++) await plant(`${deep}/${index}`);
  await storage.mkdir("/short");
  for (let index = 0; index < 899; index++) await plant(`/short/${index}.bin`);
  const folder = join(server.storageDir, "alice", ".dfos", "partial");
  await Deno.writeTextFile(join(folder, partialFileName("/short/legacy.bin", 10, 1)), "abc");
}
