/**
 * The shell's keys on a real terminal (tmux), as sftp and bash users expect
 * them: Ctrl-C cancels a running transfer (a put or a get) and returns to
 * the prompt on the same session (the same command then resumes), Ctrl-C at
 * the prompt only clears the line, Ctrl-D leaves; tab completion quotes names
 * with spaces and completes each argument on the side it names; output
 * without a final newline stays on the screen.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ClientConnection } from "../../src/client/connection.ts";
import { openClient, readAudit, startServer, USERS, waitFor } from "../helpers/processes.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import { dfosCommandLine, hasTmux, Terminal } from "../helpers/terminal.ts";

const MiB = 1024 * 1024;
const SIZE = 24 * MiB;
/** The prompt as the screen shows it (tmux leaves out trailing blanks). */
const PROMPT = "alice@127.0.0.1:/>";

/** The partial upload of `path` the server lists, if any. */
async function partialOf(watcher: ClientConnection, path: string) {
  return (await watcher.listPartials("/")).entries.find((entry) => entry.path === path);
}

/** The last screen line that is not blank. */
async function lastLine(terminal: Terminal): Promise<string> {
  return (await terminal.screen()).trimEnd().split("\n").at(-1) ?? "";
}

Deno.test({
  name: "on a terminal: Ctrl-C cancels a put and the same put resumes; Ctrl-C at the prompt " +
    "clears the line; Ctrl-D leaves with exit 0",
  ignore: !(await hasTmux),
  async fn() {
    // A second session per user lets the test watch the upload from outside the shell.
    await using server = await startServer(["--max-sessions-per-user=2"]);
    const local = await Deno.makeTempDir({ prefix: "dfos-tty-" });
    await writeLargeFile(join(local, "big.bin"), SIZE, 5);
    const client = dfosCommandLine([
      "client",
      `--port=${server.port}`,
      "--user=alice",
      `--known-hosts=${server.knownHosts}`,
      "--limit-rate=8M", // About 3 s for the whole file: slow enough to interrupt.
    ]);
    const command = ["sh", "-c", `${client}; echo "shell exited with $?"`];
    const env = { DFOS_PASSWORD: USERS.alice };
    await using terminal = await Terminal.start(command, { cwd: local, env });
    const watcher = await openClient(server);
    try {
      await terminal.expect((text) => text.includes(PROMPT), "the prompt", 20_000);

      await terminal.type("stat /", "C-c");
      await terminal.expect((text) => text.includes(`${PROMPT} stat /^C\n${PROMPT}`), "^C");
      await terminal.type("pwd", "Enter");
      await terminal.expect((text) => text.includes(`${PROMPT} pwd\n/\n${PROMPT}`), "pwd");
      assert.ok(!(await terminal.screen()).includes("type: directory"), "stat did not run");

      await terminal.type("put big.bin", "Enter");
      await waitFor(async () => ((await partialOf(watcher, "/big.bin"))?.received ?? 0) >= MiB);
      await terminal.type("C-c");
      await terminal.expect(
        (text) => text.includes(`dfos: put: cancelled\n${PROMPT}`),
        "cancel",
      );
      const kept = (await partialOf(watcher, "/big.bin"))!;
      assert.ok(kept.received < SIZE && !kept.active, `kept ${kept.received} bytes, idle`);

      await terminal.type("put big.bin", "Enter");
      await terminal.expect((text) => /big\.bin \|.*100%/.test(text), "the resumed upload");
      await waitFor(async () => (await lastLine(terminal)) === PROMPT, 10_000, "the prompt");
      const stored = join(server.storageDir, "alice", "big.bin");
      assert.equal(await sha256File(stored), await sha256File(join(local, "big.bin")));
      const uploads = (await readAudit(server))
        .filter((record) => record.path === "/big.bin" && record.event === "upload");
      assert.equal(uploads.at(-1)?.result, "ok");
      assert.equal(uploads.at(-1)?.bytes, SIZE - kept.received, "only the missing bytes were sent");
      assert.equal(uploads.length, 2, "the cancelled upload and its resumption");
      assert.equal(uploads[0].session, uploads[1].session, "both on the shell's one session");

      await terminal.type("C-d");
      await terminal.expect(
        (text) => text.includes(`${PROMPT}\nshell exited with 0`),
        "Ctrl-D",
      );
    } finally {
      await watcher.close();
      await Deno.remove(local, { recursive: true });
    }
  },
});

Deno.test({
  name: "on a terminal: Ctrl-C cancels a get on the same session, keeping its partial, and the " +
    "same get resumes",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    const root = join(server.storageDir, "alice");
    await Deno.mkdir(root, { recursive: true });
    await writeLargeFile(join(root, "big.bin"), SIZE, 6);
    const local = await Deno.makeTempDir({ prefix: "dfos-tty-" });
    const partial = join(local, ".big.bin.dfos-part");
    const sizeOf = () => Deno.stat(partial).then((info) => info.size, () => 0);
    const client = dfosCommandLine([
      "client",
      `--port=${server.port}`,
      "--user=alice",
      `--known-hosts=${server.knownHosts}`,
      "--limit-rate=8M",
    ]);
    const env = { DFOS_PASSWORD: USERS.alice };
    await using terminal = await Terminal.start(["sh", "-c", client], { cwd: local, env });
    try {
      await terminal.expect((text) => text.includes(PROMPT), "the prompt", 20_000);
      await terminal.type("get big.bin", "Enter");
      await waitFor(async () => (await sizeOf()) >= MiB);
      await terminal.type("C-c");
      await terminal.expect((text) => text.includes(`dfos: get: cancelled\n${PROMPT}`), "cancel");
      const kept = await sizeOf();
      assert.ok(kept < SIZE, `kept ${kept} bytes`);
      await assert.rejects(Deno.stat(join(local, "big.bin")), Deno.errors.NotFound);

      await terminal.type("get big.bin", "Enter");
      await waitFor(async () => (await lastLine(terminal)) === PROMPT, 10_000, "the prompt");
      await waitFor(() => Deno.stat(join(local, "big.bin")).then(() => true, () => false));
      assert.equal(
        await sha256File(join(local, "big.bin")),
        await sha256File(join(root, "big.bin")),
      );
      const downloads = (await readAudit(server))
        .filter((record) => record.path === "/big.bin" && record.event === "download");
      assert.equal(downloads.at(-1)?.bytes, SIZE - kept, "only the missing bytes were sent");
      assert.equal(downloads[0].session, downloads[1].session, "both on the shell's one session");
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
});

Deno.test({
  name: "on a terminal: completion quotes names with spaces and completes each argument on " +
    "its own side; output without a final newline stays visible",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    const local = await Deno.makeTempDir({ prefix: "dfos-tty-" });
    await Deno.writeTextFile(join(local, "my notes.txt"), "abcdef\n");
    await Deno.mkdir(join(local, "local-only"));
    await Deno.mkdir(join(server.storageDir, "alice", "remote-only"), { recursive: true });
    const client = dfosCommandLine(
      ["client", `--port=${server.port}`, "--user=alice", `--known-hosts=${server.knownHosts}`],
    );
    const env = { DFOS_PASSWORD: USERS.alice };
    await using terminal = await Terminal.start(["sh", "-c", client], { cwd: local, env });
    const tab = async (keys: string, completed: string) => {
      await terminal.type(keys, "Tab");
      await terminal.expect((text) => text.includes(`${PROMPT} ${completed}`), completed);
    };
    try {
      await terminal.expect((text) => text.includes(PROMPT), "the prompt", 20_000);
      await tab("put my", "put my\\ notes.txt");
      await tab(" rem", "put my\\ notes.txt remote-only/"); // The second argument is remote.
      await terminal.type("Enter");
      await waitFor(async () => (await lastLine(terminal)) === PROMPT, 10_000, "the upload");
      await tab('cat "remote-only/my', 'cat "remote-only/my notes.txt"');
      await terminal.type("C-u");
      await tab("get remote-only/my", "get remote-only/my\\ notes.txt");
      await tab(" loc", "get remote-only/my\\ notes.txt local-only/"); // The second is local.
      await terminal.type("Enter");
      await waitFor(() =>
        Deno.stat(join(local, "local-only", "my notes.txt")).then(() => true, () => false)
      );

      await terminal.type("cat -n 3 'remote-only/my notes.txt'", "Enter");
      await terminal.expect((text) => text.includes(`notes.txt'\nabc\n${PROMPT}`), "abc");
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
});
