/**
 * The interactive shell as a person sees it, on a real terminal (tmux):
 * the password is not echoed, the prompt follows `cd`, tab completes
 * commands and remote and local paths, and a progress bar shows.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PERMISSION_FLAGS } from "../../src/cli/permissions.ts";
import { startServer, USERS, waitFor } from "../helpers/processes.ts";

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

Deno.test({
  name: "on a terminal: trust question, hidden password, path completion, progress bar",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    const local = await Deno.makeTempDir({ prefix: "dfos-tty-" });
    await Deno.writeTextFile(join(local, "holiday-photos.txt"), "sunny\n");
    const session = `dfos-test-${server.port}`;
    const command = [Deno.execPath(), "run", "--quiet", ...PERMISSION_FLAGS, MAIN, "client"]
      .concat([`--port=${server.port}`, "--user=alice", `--known-hosts=${local}/known_hosts`])
      .map((word) => `'${word}'`).join(" ");
    await tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "40", "-c", local, command);
    const screen = () => tmux("capture-pane", "-p", "-t", session);
    const type = (...keys: string[]) => tmux("send-keys", "-t", session, ...keys);
    const expectScreen = (test: (text: string) => boolean, what: string, timeoutMs = 10_000) =>
      waitFor(async () => test(await screen()), timeoutMs, what)
        .catch(async (error) =>
          Promise.reject(new Error(`${error.message}; screen:\n${await screen()}`))
        );
    try {
      await expectScreen((text) => text.includes("(yes/no)?"), "first-contact question", 20_000);
      assert.ok((await screen()).includes(server.fingerprint!), "the fingerprint is shown");
      await type("yes", "Enter");
      await expectScreen((text) => text.includes("password:"), "password prompt", 20_000);
      await type(USERS.alice, "Enter");
      await expectScreen((text) => text.includes("alice@127.0.0.1:/>"), "prompt", 20_000);
      assert.ok(!(await screen()).includes(USERS.alice), "the password is not echoed");

      await type("mkd", "Tab");
      await waitFor(async () => (await screen()).includes("> mkdir"), 5_000, "command completion");

      await type(" album", "Enter", "put holi", "Tab");
      await expectScreen((text) => text.includes("put holiday-photos.txt"), "local", 5_000);
      await type(" album", "Enter");
      await expectScreen((text) => /holiday-photos\.txt \|.*100%/.test(text), "bar", 10_000);
      await type("cd alb", "Tab");
      await expectScreen((text) => text.includes("cd album/"), "remote completion", 5_000);
      await type("Enter", "ls -l", "Enter");
      await expectScreen((text) => text.includes("alice@127.0.0.1:/album>"), "cwd", 5_000);
      await expectScreen((text) => /- +6 .*holiday-photos\.txt/.test(text), "listing", 5_000);
      await type("exit", "Enter");
      await waitFor(async () => !(await tmux("ls")).includes(session), 10_000, "exit").catch(
        () => {},
      );
      const remembered = await Deno.readTextFile(join(local, "known_hosts"));
      assert.ok(remembered.startsWith(`127.0.0.1:${server.port} ${server.fingerprint} `));
    } finally {
      await tmux("kill-session", "-t", session).catch(() => {});
      await Deno.remove(local, { recursive: true });
    }
  },
});
