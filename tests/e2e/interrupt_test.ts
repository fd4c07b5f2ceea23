/**
 * Ctrl-C without a terminal: SIGINT stops a one-shot transfer promptly with
 * exit 130 and one line, keeps what arrived (the server's partial of an
 * upload, the local `.NAME.dfos-part` of a download), and the same command
 * then resumes; SIGINT ends a batch even on a `-` line.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ClientConnection } from "../../src/client/connection.ts";
import {
  openClient,
  readAudit,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;
const SLOW = "--limit-rate=4M"; // About 4 s for SIZE: the test interrupts it after 1 MiB.

/** The server's partial upload of /big.bin, as `partials` lists it. */
async function partialOf(watcher: ClientConnection) {
  return (await watcher.listPartials("/")).entries.find((entry) => entry.path === "/big.bin");
}

/** Bytes the last successful transfer of /big.bin moved, from the audit log. */
async function lastTransferBytes(server: TestServer): Promise<unknown> {
  const records = await readAudit(server);
  return records.filter((record) => record.path === "/big.bin" && record.result === "ok")
    .at(-1)?.bytes;
}

async function setUp() {
  // A second session per user lets the test watch the transfer from outside.
  const server = await startServer(["--max-sessions-per-user=2"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await writeLargeFile(join(local, "big.bin"), SIZE, 3);
  return { server, local, watcher: await openClient(server) };
}

Deno.test("SIGINT stops a one-shot put with exit 130 and one line; the partial stays and the same put resumes", async () => {
  const { server, local, watcher } = await setUp();
  await using _server = server;
  const upload = spawnClient(server, [SLOW, "put", "big.bin"], { cwd: local });
  await waitFor(async () => ((await partialOf(watcher))?.received ?? 0) >= MiB, 20_000, "bytes");
  upload.child.kill("SIGINT");
  assert.equal(await upload.finish(), 130);
  assert.equal(upload.stderr(), "dfos: put: cancelled\n");
  const kept = (await partialOf(watcher))!;
  assert.ok(kept && !kept.active && kept.received < SIZE, `kept ${kept?.received} bytes, idle`);
  assert.equal((await runClient(server, ["ls"])).stdout, "", "nothing under the real name");

  const again = await runClient(server, ["put", "big.bin"], { cwd: local });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await lastTransferBytes(server), SIZE - kept.received, "only the rest was sent");
  const stored = join(server.storageDir, "alice", "big.bin");
  assert.equal(await sha256File(stored), await sha256File(join(local, "big.bin")));
  await watcher.close();
  await Deno.remove(local, { recursive: true });
});

Deno.test("SIGINT stops a one-shot get with exit 130; the local partial stays and the same get resumes", async () => {
  const { server, local, watcher } = await setUp();
  await using _server = server;
  await watcher.close();
  assert.equal((await runClient(server, ["put", "big.bin"], { cwd: local })).code, 0);
  const partial = join(local, ".copy.bin.dfos-part");
  const sizeOf = () => Deno.stat(partial).then((info) => info.size, () => 0);
  const download = spawnClient(server, [SLOW, "get", "big.bin", "copy.bin"], { cwd: local });
  await waitFor(async () => (await sizeOf()) >= MiB, 20_000, "bytes");
  download.child.kill("SIGINT");
  assert.equal(await download.finish(), 130);
  assert.equal(download.stderr(), "dfos: get: cancelled\n");
  const kept = await sizeOf();
  assert.ok(kept < SIZE, `kept ${kept} bytes`);
  await assert.rejects(Deno.stat(join(local, "copy.bin")), Deno.errors.NotFound);

  const again = await runClient(server, ["get", "big.bin", "copy.bin"], { cwd: local });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await lastTransferBytes(server), SIZE - kept, "only the rest was sent");
  assert.equal(await sha256File(join(local, "copy.bin")), await sha256File(join(local, "big.bin")));
  assert.equal(await sizeOf(), 0, "the partial is gone");
  await Deno.remove(local, { recursive: true });
});

Deno.test("SIGINT ends a batch with exit 130, even on a line whose failure would be ignored", async () => {
  const { server, local, watcher } = await setUp();
  await using _server = server;
  const batch = spawnClient(server, [SLOW], { cwd: local });
  await batch.send("-put big.bin");
  await batch.send("pwd");
  await waitFor(async () => ((await partialOf(watcher))?.received ?? 0) >= MiB, 20_000, "bytes");
  batch.child.kill("SIGINT");
  assert.equal(await batch.finish(), 130);
  assert.equal(batch.stderr(), "dfos: put: cancelled\n");
  assert.equal(batch.stdout(), "", "pwd did not run");
  assert.equal((await partialOf(watcher))?.active, false, "the upload ended, its partial kept");
  await watcher.close();
  await Deno.remove(local, { recursive: true });
});
