/**
 * What a transfer's progress bar leaves on a real terminal (tmux): a
 * message printed while the bar shows gets a line of its own.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PERMISSION_FLAGS } from "../../src/cli/permissions.ts";
import { startServer, type TestServer, USERS, waitFor } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const hasTmux = new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((result) => result.success, () => false);

async function tmux(...args: string[]): Promise<string> {
  const result = await new Deno.Command("tmux", { args, stderr: "piped" }).output();
  if (!result.success) {
    throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(result.stderr)}`);
  }
  return new TextDecoder().decode(result.stdout);
}

/** A terminal running one client command; the pane stays (with `exit N`) after it ends. */
async function clientOnTerminal(server: TestServer, cwd: string, args: string[]) {
  const session = `dfos-progress-${server.port}-${args[0].replace(/\W/g, "")}`;
  const words = [Deno.execPath(), "run", "--quiet", ...PERMISSION_FLAGS, MAIN, "client"]
    .concat([`--port=${server.port}`, "--user=alice", `--known-hosts=${server.knownHosts}`])
    .concat(args).map((word) => `'${word}'`).join(" ");
  const script = `DFOS_PASSWORD='${USERS.alice}' ${words}; echo "exit $?"; sleep 600`;
  await tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "30", "-c", cwd, script);
  const screen = () => tmux("capture-pane", "-p", "-t", session);
  return {
    screen,
    waitForScreen: (test: (text: string) => boolean, what: string) =>
      waitFor(async () => test(await screen()), 30_000, what).catch(async (error) =>
        Promise.reject(new Error(`${error.message}; screen:\n${await screen()}`))
      ),
    close: () => tmux("kill-session", "-t", session).catch(() => ""),
  };
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
    const terminal = await clientOnTerminal(server, local, ["--limit-rate=4M", "get", "big.bin"]);
    try {
      await terminal.waitForScreen((text) => /big\.bin \|.*%/.test(text), "the bar");
      const stopped = server.stop("SIGTERM");
      await terminal.waitForScreen((text) => text.includes("exit 4"), "the client to end");
      const lines = (await terminal.screen()).split("\n");
      assert.ok(
        lines.some((line) => line.startsWith("dfos: server: the server is shutting down")),
        `the notice starts a line:\n${lines.join("\n")}`,
      );
      assert.ok(lines.includes("dfos: get: the server shut down"), lines.join("\n"));
      assert.ok(!lines.some((line) => /ETA \S+dfos/.test(line)), "nothing glued to the bar");
      assert.equal(await stopped, 0);
    } finally {
      await terminal.close();
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
    const terminal = await clientOnTerminal(server, local, ["put", "notes.txt"]);
    try {
      await terminal.waitForScreen((text) => text.includes("exit 1"), "the client to end");
      const lines = (await terminal.screen()).split("\n").filter((line) => line !== "");
      assert.deepEqual(lines, [
        "dfos: put: /notes.txt: already exists (use -f to replace it)",
        "exit 1",
      ]);
    } finally {
      await terminal.close();
      await Deno.remove(local, { recursive: true });
    }
  },
});
