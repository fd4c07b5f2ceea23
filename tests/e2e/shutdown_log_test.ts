/**
 * What a planned shutdown looks like in the server's logs: each event once,
 * counted nouns right, nothing at warning or error level, even when the
 * grace period ends with a transfer still running.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readAudit, spawnClient, startServer, waitFor } from "../helpers/processes.ts";
import { writeLargeFile } from "../helpers/files.ts";
import { partialSizes } from "../helpers/partials.ts";

/** The JSON records of a server's `server.log`. */
async function serverLogRecords(logDir: string): Promise<{ level: string; message: string }[]> {
  const text = await Deno.readTextFile(join(logDir, "server.log"));
  return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/** How many lines of `text` match `pattern`. */
function countLines(text: string, pattern: RegExp): number {
  return text.split("\n").filter((line) => pattern.test(line)).length;
}

Deno.test("SIGINT twice (a launcher forwarding Ctrl-C) with an upload running: each shutdown event is logged once, and nothing as a warning or an error", async () => {
  await using server = await startServer(["--shutdown-grace=1"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    await writeLargeFile(join(local, "big.bin"), 16 * 1024 * 1024);
    const upload = spawnClient(server, ["--limit-rate", "1M", "put", "big.bin"], { cwd: local });
    await waitFor(async () => ((await partialSizes(server))[0] ?? 0) > 0, 30_000, "the upload");
    server.child.kill("SIGINT");
    assert.equal(await server.stop("SIGINT"), 0, server.output());
    await upload.finish();

    const all = server.output();
    const stderr = all.slice(all.indexOf("received SIGINT")); // The startup's lines aside.
    const once = [
      /received SIGINT$/,
      /shutting down: no new connections; running transfers have 1 s to finish \(1 session open\)$/,
      /the 1 s grace period is over: closing 1 connection$/,
      /alice logged out/,
      /server stopped$/,
    ];
    for (const pattern of once) {
      assert.equal(countLines(stderr, pattern), 1, `${pattern}\n${stderr}`);
    }
    assert.doesNotMatch(stderr, /\[(WRN|ERR|FTL)\]|unexpected error|"SIGINT"/);
    assert.match(
      upload.stderr(),
      /the server is shutting down; 1 running transfer has 1 s to finish/,
    );

    const logged = await serverLogRecords(server.logDir);
    const records = logged.slice(logged.findIndex((record) => /SIGINT/.test(record.message)));
    assert.deepEqual(records.filter((record) => record.level !== "INFO"), []);
    const messages = records.map((record) => record.message);
    assert.equal(new Set(messages).size, messages.length, messages.join("\n"));

    const cut = (await readAudit(server)).filter((record) => record.path === "/big.bin");
    assert.deepEqual(cut.map((record) => record.result), ["the server shut down"]);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("SIGTERM again and again as a shutdown ends: the server still exits 0, never killed by the signal", async () => {
  await using server = await startServer(["--shutdown-grace=30"]);
  // A connection that never logs in holds the shutdown open until it closes.
  const holder = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  server.child.kill("SIGTERM");
  await waitFor(() => server.output().includes("shutting down"), 10_000, "the shutdown");
  let exited = false;
  const status = server.child.status.finally(() => exited = true);
  holder.close();
  // Signals all through the end of the shutdown and the process's exit.
  while (!exited) {
    try {
      server.child.kill("SIGTERM");
    } catch { /* gone */ }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const { code, signal } = await status;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, server.output());
});
