/**
 * Nothing is lost when things stop: a client killed in the middle of an
 * upload, a server asked to stop during a transfer.
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
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import { partialSizes } from "../helpers/partials.ts";

const BIG = 512 * 1024 * 1024;

async function partialSize(server: TestServer): Promise<number | undefined> {
  return (await partialSizes(server))[0];
}

Deno.test("a client killed with SIGKILL mid-upload leaves no visible file; the server keeps serving and the upload resumes", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const source = join(local, "big.bin");
  await writeLargeFile(source, BIG);
  const root = join(server.storageDir, "alice");
  const upload = spawnClient(server, ["put", "big.bin"], { cwd: local });
  await waitFor(async () => ((await partialSize(server)) ?? 0) > 0, 30_000, "upload to start");
  upload.child.kill("SIGSTOP");
  const partial = (await partialSize(server))!;
  assert.ok(partial < BIG, `partial has ${partial} of ${BIG} bytes`);
  upload.child.kill("SIGKILL");
  await upload.finish();

  const listing = await runClient(server, ["ls", "-l"]);
  assert.equal(listing.code, 0, "the server still serves");
  assert.equal(listing.stdout, "", "no truncated file under the real name");
  await assert.rejects(Deno.stat(join(root, "big.bin")));

  const again = await runClient(server, ["put", "big.bin"], { cwd: local });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await sha256File(join(root, "big.bin")), await sha256File(source));
  const writes = (await readAudit(server))
    .filter((event) => event.event === "upload" && event.result === "ok");
  assert.equal(writes.length, 1);
  const sent = writes[0].bytes as number;
  assert.ok(sent <= BIG - partial, `resumed: sent ${sent} after ${partial}`);
  assert.equal(await partialSize(server), undefined, "the partial is gone after the commit");
  await Deno.remove(local, { recursive: true });
});

Deno.test("SIGTERM during a transfer lets it finish, tells the client, and the server exits 0", async () => {
  await using server = await startServer(["--shutdown-grace=60"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const source = join(local, "big.bin");
  await writeLargeFile(source, BIG);
  const root = join(server.storageDir, "alice");
  const upload = spawnClient(server, ["put", "big.bin"], { cwd: local });
  await waitFor(async () => ((await partialSize(server)) ?? 0) > 0, 30_000, "upload to start");
  const exit = server.stop("SIGTERM", 90_000);
  assert.equal(await upload.finish(), 0, upload.stderr());
  assert.match(upload.stderr(), /dfos: server: the server is shutting down/);
  assert.equal(await exit, 0);
  assert.equal(await sha256File(join(root, "big.bin")), await sha256File(source));
  assert.match(server.output(), /server stopped/);
  await Deno.remove(local, { recursive: true });
});

Deno.test("after SIGTERM new connections are refused and idle sessions are closed", async () => {
  await using server = await startServer();
  const idle = spawnClient(server, []);
  await idle.send("pwd");
  await waitFor(() => idle.stdout().includes("/"), 15_000, "the session");
  assert.equal(await server.stop("SIGTERM"), 0);
  assert.equal(await idle.finish(), 4, "the shell reports the lost connection");
  assert.match(idle.stderr(), /server is shutting down/);
  const late = await runClient(server, ["ls"]);
  assert.equal(late.code, 4);
});
