/**
 * The interactive shell as a person sees it, on a real terminal (tmux):
 * the password is not echoed, the prompt follows `cd`, tab completes
 * commands and remote and local paths, and a progress bar shows.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, USERS } from "../helpers/processes.ts";
import { dfosCommand, hasTmux, Terminal } from "../helpers/terminal.ts";

Deno.test({
  name: "on a terminal: trust question, hidden password, path completion, progress bar",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    const local = await Deno.makeTempDir({ prefix: "dfos-tty-" });
    await Deno.writeTextFile(join(local, "holiday-photos.txt"), "sunny\n");
    const command = dfosCommand(["client", `--port=${server.port}`, "--user=alice"])
      .concat(`--known-hosts=${local}/known_hosts`);
    await using terminal = await Terminal.start(command, { cwd: local });
    const screen = () => terminal.screen();
    const type = (...keys: string[]) => terminal.type(...keys);
    const expectScreen = (test: (text: string) => boolean, what: string, timeoutMs = 10_000) =>
      terminal.expect(test, what, timeoutMs);
    try {
      await expectScreen((text) => text.includes("(yes/no)?"), "first-contact question", 20_000);
      assert.ok((await screen()).includes(server.fingerprint!), "the fingerprint is shown");
      await type("yes", "Enter");
      await expectScreen((text) => text.includes("password:"), "password prompt", 20_000);
      await type(USERS.alice, "Enter");
      await expectScreen((text) => text.includes("alice@127.0.0.1:/>"), "prompt", 20_000);
      assert.ok(!(await screen()).includes(USERS.alice), "the password is not echoed");

      await type("mkd", "Tab");
      await expectScreen((text) => text.includes("> mkdir"), "command completion", 5_000);

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
      assert.equal(await terminal.exitCode(), 0);
      const remembered = await Deno.readTextFile(join(local, "known_hosts"));
      assert.ok(remembered.startsWith(`127.0.0.1:${server.port} ${server.fingerprint} `));
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
});
