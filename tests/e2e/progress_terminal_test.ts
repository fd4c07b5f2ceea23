/**
 * What a transfer's progress bar leaves on a real terminal (tmux): a
 * message printed while the bar shows gets a line of its own.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, type TestServer, USERS } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";
import { dfosCommand, hasTmux, Terminal } from "../helpers/terminal.ts";

/** A terminal running one client command for alice. */
function clientOnTerminal(server: TestServer, cwd: string, args: string[]): Promise<Terminal> {
  const command = dfosCommand(["client", `--port=${server.port}`, "--user=alice"])
    .concat(`--known-hosts=${server.knownHosts}`, ...args);
  return Terminal.start(command, { cwd, env: { DFOS_PASSWORD: USERS.alice }, height: 30 });
}

Deno.test({
  name:
    "on a terminal, the server's notice and the final error each start a line of their own below the bar",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer(["--shutdown-grace=1"]);
    const root = join(server.storageDir, "alice");
    await Deno.mkdir(root, { recursive: true });
    await Deno.writeFile(join(root, "big.bin"), seededBytes(24 * 1024 * 1024, 5));
    const local = await Deno.makeTempDir({ prefix: "dfos-tty-" });
    await using terminal = await clientOnTerminal(server, local, [
      "--limit-rate=4M",
      "get",
      "big.bin",
    ]);
    try {
      await terminal.expect((text) => /big\.bin \|.*%/.test(text), "the bar", 30_000);
      const stopped = server.stop("SIGTERM");
      assert.equal(await terminal.exitCode(30_000), 4);
      const lines = (await terminal.screen()).split("\n");
      assert.ok(
        lines.some((line) => line.startsWith("dfos: server: the server is shutting down")),
        `the notice starts a line:\n${lines.join("\n")}`,
      );
      assert.ok(lines.includes("dfos: get: the server shut down"), lines.join("\n"));
      assert.ok(!lines.some((line) => /ETA \S+dfos/.test(line)), "nothing glued to the bar");
      assert.equal(await stopped, 0);
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
});

Deno.test({
  name: "on a terminal, a put the server refuses shows no bar before its error",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    const root = join(server.storageDir, "alice");
    await Deno.mkdir(root, { recursive: true });
    await Deno.writeTextFile(join(root, "notes.txt"), "kept");
    const local = await Deno.makeTempDir({ prefix: "dfos-tty-" });
    await Deno.writeTextFile(join(local, "notes.txt"), "new notes");
    await using terminal = await clientOnTerminal(server, local, ["put", "notes.txt"]);
    try {
      assert.equal(await terminal.exitCode(30_000), 1);
      // A login slowed by a busy machine says so (not a bar): that line may come first.
      const lines = (await terminal.screen()).split("\n")
        .filter((line) => line !== "" && !line.startsWith("Pane is dead"))
        .filter((line) => line !== "dfos: server busy: checking the password");
      assert.deepEqual(lines, ["dfos: put: /notes.txt: already exists (use -f to replace it)"]);
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
});
