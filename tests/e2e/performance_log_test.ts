/**
 * The performance log while a server is busy and while it is idle, read
 * the way README.md says to read it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer, type TestServer, waitFor } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";

/** The `properties` of each complete line of the performance log. */
async function samples(server: TestServer): Promise<Record<string, number | boolean>[]> {
  const text = await Deno.readTextFile(join(server.logDir, "server_performance.log"))
    .catch(() => "");
  return text.split("\n").filter((line) => line.endsWith("}"))
    .map((line) => JSON.parse(line).properties);
}

const hasJq = await new Deno.Command("jq", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((result) => result.success, () => false);

/** Runs a server with a short interval through one upload, until it has said it is idle again. */
async function busyThenIdle(server: TestServer) {
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  try {
    await Deno.writeFile(join(local, "f.bin"), seededBytes(1024 * 1024, 3));
    const upload = await runClient(server, ["--limit-rate", "4M", "put", "f.bin"], { cwd: local });
    assert.equal(upload.code, 0, upload.stderr);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
  return await waitFor(
    async () => {
      const lines = await samples(server);
      const busy = lines.findIndex((line) => (line.sessions as number) > 0);
      return busy >= 0 && lines.slice(busy).some((line) => line.idle) && lines;
    },
    15_000,
    "an idle line after the busy ones",
  );
}

Deno.test("the performance log has a line per interval while busy, and one when the server becomes idle", async () => {
  await using server = await startServer(["--perf-interval=0.05"]);
  const lines = await busyThenIdle(server);
  assert.ok(lines[0].idle, "the first line: idle since it started");
  for (let i = 1; i < lines.length; i++) {
    assert.ok(!(lines[i].idle && lines[i - 1].idle), `line ${i}: no idle line after an idle one`);
  }
  const busy = lines.filter((line) => !line.idle);
  assert.ok(busy.length >= 2, `${busy.length} busy lines`);
  assert.ok(busy.some((line) => (line.bytesInPerSecond as number) > 0));
  for (const line of lines) {
    for (const field of ["cpuPercent", "rssBytes", "heapUsedBytes", "sessions", "queued"]) {
      assert.equal(typeof line[field], "number", field);
    }
  }
});

Deno.test({
  name: "the README's jq line reads the performance log: time, CPU, RSS, sessions, bytes/s",
  ignore: !hasJq,
  async fn() {
    await using server = await startServer(["--perf-interval=0.05"]);
    await busyThenIdle(server);
    const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
    const command = readme.match(/^(jq .*logs\/server_performance\.log)$/m)?.[1];
    assert.ok(command, "README shows a jq line for the performance log");
    const { stdout, success } = await new Deno.Command("bash", {
      args: ["-c", command],
      cwd: join(server.logDir, ".."),
      stdout: "piped",
    }).output();
    assert.ok(success);
    const rows = new TextDecoder().decode(stdout).trim().split("\n");
    assert.match(rows[0], /^\d{4}-\d\d-\d\dT\S+\t[\d.]+\t\d+\t\d+\t\d+\t\d+\tidle$/);
    const columns = rows.map((row) => row.split("\t"));
    assert.ok(
      columns.some(([, , , sessions, bytesIn]) => Number(sessions) > 0 && Number(bytesIn) > 0),
      `a busy line with a session and bytes coming in:\n${rows.join("\n")}`,
    );
  },
});
