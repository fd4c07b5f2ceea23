/**
 * `dfos server stop` against real servers during a transfer: the same
 * graceful shutdown as SIGTERM (the transfer finishes, or is cut at the end
 * of the grace period and resumes), and a stop that returns only once the
 * server has exited 0.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readAudit, runClient, spawnClient, startServer, waitFor } from "../helpers/processes.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import { control, hasExited, statusOf, transferOf } from "../helpers/control.ts";

const MIB = 1024 * 1024;

Deno.test("stop during an upload lets it finish, tells the client, and returns once the server has exited 0", async () => {
  await using server = await startServer(["--shutdown-grace=60"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    const source = join(local, "big.bin");
    await writeLargeFile(source, 8 * MIB); // 4 s at 2 MiB/s: time to ask twice while it runs.
    const upload = spawnClient(server, ["--limit-rate", "2M", "put", "big.bin"], { cwd: local });
    await transferOf(server, "alice");
    const stopping = control(server, "stop");
    const during = await waitFor(
      async () => {
        const status = await statusOf(server);
        return status.server.stopping && status;
      },
      30_000,
      "the status to say it is stopping",
    );
    assert.equal(during.sessions[0].transfers[0]?.path, "/big.bin", "the upload runs on");
    const again = await control(server, "stop");
    const stop = await stopping;
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(await hasExited(server.pid), "stop returned only after the server exited");
    assert.match(
      stop.stdout,
      new RegExp(
        `^stopping the server \\(pid ${server.pid}\\): running transfers have up to 60 s to finish\\nserver stopped \\(pid ${server.pid}\\)\\n$`,
      ),
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /^the server \(pid \d+\) was already stopping; waiting for it to exit\n/,
    );
    assert.equal(await server.stop(), 0, server.output());
    assert.equal(await upload.finish(), 0, upload.stderr());
    assert.match(upload.stderr(), /dfos: server: the server is shutting down/);
    assert.equal(
      await sha256File(join(server.storageDir, "alice", "big.bin")),
      await sha256File(source),
    );
    const log = server.output();
    assert.match(
      log,
      /asked to stop over the control socket\n.*shutting down: .*\(1 session open\)/,
    );
    assert.match(
      log,
      /asked to stop over the control socket again; the shutdown is already under way/,
    );
    assert.match(log, /server stopped/);
    await assert.rejects(Deno.lstat(join(server.dir, "server_state", "control.sock")));
    const after = await control(server, "status");
    assert.equal(after.code, 4);
    assert.match(after.stderr, /^dfos: server status: no server is running with the state folder /);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("stop cuts a transfer at the end of the grace period as SIGTERM does: on the record as the server shutting down, and it resumes", async () => {
  await using server = await startServer(["--shutdown-grace=1"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    const source = join(local, "big.bin");
    await writeLargeFile(source, 8 * MIB);
    const upload = spawnClient(server, ["--limit-rate", "1M", "put", "big.bin"], { cwd: local });
    await transferOf(server, "alice");
    const stop = await control(server, "stop");
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await server.stop(), 0, server.output());
    await upload.finish();
    const cut = (await readAudit(server)).filter((record) => record.path === "/big.bin");
    assert.deepEqual(cut.map((record) => record.result), ["the server shut down"]);
    const kept = cut[0].bytes as number;
    assert.ok(kept > 0, "bytes arrived before the cut");

    await using again = await startServer([], server.dir);
    const resumed = await runClient(again, ["put", "big.bin"], { cwd: local });
    assert.equal(resumed.code, 0, resumed.stderr);
    const sent = (await readAudit(again)).filter((r) => r.event === "upload" && r.result === "ok");
    assert.ok((sent.at(-1)!.bytes as number) <= 8 * MIB - kept, "only the rest was sent");
    assert.equal(
      await sha256File(join(again.storageDir, "alice", "big.bin")),
      await sha256File(source),
    );
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});
