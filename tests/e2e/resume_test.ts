/**
 * Interrupted transfers resume where they stopped, in both directions, after
 * a killed server, a killed client or a cut connection; only the missing
 * bytes are sent again (measured in the server's audit log), and the result
 * is verified end to end. A source that changed in between starts over.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readAudit,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { startRelay } from "../helpers/relay.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import {
  agePartials,
  leavePartial,
  partialListing,
  partialSizes,
  userStorage,
} from "../helpers/partials.ts";

const SIZE = 24 * 1024 * 1024;
const SLOW = "--limit-rate=6M"; // About 4 s for SIZE: long enough to interrupt, short enough to wait for.

async function sizeOf(path: string): Promise<number> {
  return await Deno.stat(path).then((info) => info.size, () => 0);
}

async function uploadPartialSize(server: TestServer): Promise<number> {
  const sizes = await partialSizes(server);
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** Bytes the latest successful transfer of `event` ("download"/"upload") moved, from the audit log. */
async function lastTransferBytes(server: TestServer, event: string): Promise<number> {
  const done = (await readAudit(server)).filter((e) => e.event === event && e.result === "ok");
  return done.at(-1)?.bytes as number;
}

async function setUp() {
  const server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await writeLargeFile(join(local, "data.bin"), SIZE, 21);
  return { server, local, expected: await sha256File(join(local, "data.bin")) };
}

Deno.test("an upload cut by a killed server resumes on a restarted server", async () => {
  const { server, local, expected } = await setUp();
  const port = server.port;
  const upload = spawnClient(server, [SLOW, "put", "data.bin"], { cwd: local });
  await waitFor(async () => (await uploadPartialSize(server)) >= 4 * 1024 * 1024, 20_000, "bytes");
  await server.stop("SIGKILL");
  assert.equal(
    await upload.finish(),
    4,
    `the client reports the lost connection: ${upload.stderr()}`,
  );
  const kept = await uploadPartialSize(server);
  await using restarted = await startServer([`--port=${port}`], server.dir);
  const again = await runClient(restarted, ["put", "data.bin"], { cwd: local });
  assert.equal(again.code, 0, again.stderr);
  const sent = await lastTransferBytes(restarted, "upload");
  assert.equal(sent, SIZE - kept, `re-sent only the missing ${SIZE - kept} bytes, not ${SIZE}`);
  assert.equal(await sha256File(join(restarted.storageDir, "alice", "data.bin")), expected);
  await Deno.remove(local, { recursive: true });
});

Deno.test("a download cut by a killed server resumes on a restarted server", async () => {
  const { server, local, expected } = await setUp();
  assert.equal(
    (await runClient(server, ["put", "data.bin", "remote.bin"], { cwd: local })).code,
    0,
  );
  const port = server.port;
  const partial = join(local, ".copy.bin.dfos-part");
  const download = spawnClient(server, [SLOW, "get", "remote.bin", "copy.bin"], { cwd: local });
  await waitFor(async () => (await sizeOf(partial)) >= 4 * 1024 * 1024, 20_000, "bytes");
  await server.stop("SIGKILL");
  assert.equal(await download.finish(), 4);
  const kept = await sizeOf(partial);
  await using restarted = await startServer([`--port=${port}`], server.dir);
  const again = await runClient(restarted, ["get", "remote.bin", "copy.bin"], { cwd: local });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await lastTransferBytes(restarted, "download"), SIZE - kept);
  assert.equal(await sha256File(join(local, "copy.bin")), expected);
  assert.equal(await sizeOf(partial), 0, "the partial is gone");
  await Deno.remove(local, { recursive: true });
});

Deno.test("a cut connection and a killed client resume in both directions", async () => {
  const { server, local, expected } = await setUp();
  await using _ = server;
  const cert = join(server.dir, "server_state", "tls_cert.pem");

  // Upload through a relay that is cut mid-transfer.
  const relay = await startRelay(server.port, cert, server.knownHosts);
  const upload = spawnClient(relay, [SLOW, "put", "data.bin"], { cwd: local });
  await waitFor(async () => (await uploadPartialSize(server)) >= 4 * 1024 * 1024, 20_000, "up");
  relay.cut();
  assert.equal(await upload.finish(), 4);
  assert.match(upload.stderr(), /connection/);
  await waitFor(async () => (await runClient(server, ["pwd"])).code === 0, 10_000, "session freed");
  const keptUp = await uploadPartialSize(server);
  assert.equal((await runClient(server, ["put", "data.bin"], { cwd: local })).code, 0);
  assert.equal(await lastTransferBytes(server, "upload"), SIZE - keptUp);

  // Download interrupted by killing the client.
  const partial = join(local, ".copy.bin.dfos-part");
  const download = spawnClient(server, [SLOW, "get", "data.bin", "copy.bin"], { cwd: local });
  await waitFor(async () => (await sizeOf(partial)) >= 4 * 1024 * 1024, 20_000, "down");
  download.child.kill("SIGKILL");
  await download.finish();
  const keptDown = await sizeOf(partial);
  await waitFor(async () => (await runClient(server, ["pwd"])).code === 0, 10_000, "session freed");
  assert.equal((await runClient(server, ["get", "data.bin", "copy.bin"], { cwd: local })).code, 0);
  assert.equal(await lastTransferBytes(server, "download"), SIZE - keptDown);
  assert.equal(await sha256File(join(local, "copy.bin")), expected);
  await Deno.remove(local, { recursive: true });
});

Deno.test("an upload whose source changed between attempts starts over and ends right", async () => {
  const { server, local } = await setUp();
  await using _ = server;
  const source = join(local, "data.bin");
  const interrupt = async () => {
    const upload = spawnClient(server, [SLOW, "put", "data.bin"], { cwd: local });
    await waitFor(
      async () => (await uploadPartialSize(server)) >= 2 * 1024 * 1024,
      20_000,
      "bytes",
    );
    upload.child.kill("SIGKILL");
    await upload.finish();
    await waitFor(async () => (await runClient(server, ["pwd"])).code === 0, 10_000, "freed");
  };

  // Same size and mtime, other bytes: the resumed attempt fails its SHA-256 and starts over.
  await interrupt();
  const { mtime } = await Deno.stat(source);
  await writeLargeFile(source, SIZE, 22);
  await Deno.utime(source, mtime!, mtime!);
  const changed = await runClient(server, ["put", "data.bin"], { cwd: local });
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal(
    await sha256File(join(server.storageDir, "alice", "data.bin")),
    await sha256File(source),
  );
  assert.equal(await lastTransferBytes(server, "upload"), SIZE, "the second try sent everything");

  // A new mtime is a new version: nothing is resumed.
  assert.equal((await runClient(server, ["rm", "data.bin"])).code, 0);
  await interrupt();
  await Deno.utime(source, new Date(), new Date(Date.now() + 5000));
  assert.equal((await runClient(server, ["put", "data.bin"], { cwd: local })).code, 0);
  assert.equal(await lastTransferBytes(server, "upload"), SIZE);
  await Deno.remove(local, { recursive: true });
});

Deno.test("partial uploads older than --partial-max-age are removed", async () => {
  const first = await startServer();
  await first.stop();
  const storage = await userStorage(first);
  await leavePartial(storage, "/stale.bin", "old bytes");
  await agePartials(first, "alice", 3 * 3600_000);
  await leavePartial(storage, "/fresh.bin", "new bytes");
  await using server = await startServer(["--partial-max-age=3600"], first.dir);
  const left = async () => (await partialListing(server)).partials.map(({ path }) => path);
  await waitFor(async () => (await left()).length < 2, 10_000, "the sweep");
  assert.deepEqual(await left(), ["/fresh.bin"]);
  assert.deepEqual(await partialSizes(server), [9]);
  // The sweep logs once it has gone through every user: after the removal a listing sees.
  await waitFor(
    () => /removed 1 stale partial uploads? of "?alice/.test(server.output()),
    10_000,
    "the sweep's log line",
  );
});
