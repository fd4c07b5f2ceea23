/**
 * Second tries, as ssh gives them: on a terminal an unclear answer to the
 * trust question is asked again and a mistyped password may be typed again
 * (three tries in all); the end of input or Ctrl-C refuses; a password from a
 * file or DFOS_PASSWORD gets one try.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readAudit, runClient, startServer, type TestServer, USERS } from "../helpers/processes.ts";
import { hasTmux, Terminal } from "../helpers/terminal.ts";

const LAUNCHER = new URL("../../dfos", import.meta.url).pathname;
const PROMPT = "alice@127.0.0.1's password:";

/** `./dfos client` for alice on a terminal, remembering servers in `knownHosts`. */
function clientOnTerminal(server: TestServer, knownHosts: string): Promise<Terminal> {
  return Terminal.start([
    LAUNCHER,
    "client",
    `--port=${server.port}`,
    "--user=alice",
    `--known-hosts=${knownHosts}`,
  ]);
}

/** How often `text` appears on `screen`. */
function count(screen: string, text: string): number {
  return screen.split(text).length - 1;
}

async function failedLogins(server: TestServer): Promise<number> {
  return (await readAudit(server)).filter((record) =>
    record.event === "login" && record.result === "failed"
  ).length;
}

Deno.test({
  name: "on a terminal, an unclear trust answer is asked again, and a mistyped password again",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    const knownHosts = join(server.dir, "terminal_known_hosts");
    await using terminal = await clientOnTerminal(server, knownHosts);
    await terminal.expect("(yes/no)?");
    await terminal.typeLine("maybe");
    await terminal.expect("Please type 'yes' or 'no':");
    await terminal.typeLine("yes");
    await terminal.expect(PROMPT);
    await terminal.typeLine("not-her-password");
    await terminal.expect((screen) => count(screen, PROMPT) === 2, "the second password prompt");
    assert.match(await terminal.screen(), /Permission denied, please try again\.\n.*password:/);
    await terminal.typeLine(USERS.alice);
    await terminal.expect("alice@127.0.0.1:/>");
    await terminal.typeLine("exit");
    assert.equal(await terminal.exitCode(), 0);
    assert.match(
      await Deno.readTextFile(knownHosts),
      new RegExp(`^127\\.0\\.0\\.1:${server.port} `),
    );
    assert.equal(await failedLogins(server), 1);
  },
});

Deno.test({
  name:
    "on a terminal, the end of input or Ctrl-C at the trust question refuses and remembers nothing",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    const knownHosts = join(server.dir, "terminal_known_hosts");
    for (const [key, exitCode] of [["C-d", 4], ["C-c", 130]] as const) {
      await using terminal = await clientOnTerminal(server, knownHosts);
      await terminal.expect("(yes/no)?");
      await terminal.type(key);
      assert.equal(await terminal.exitCode(), exitCode, key);
      assert.doesNotMatch(await terminal.screen(), /password:/);
      await assert.rejects(Deno.stat(knownHosts), Deno.errors.NotFound);
    }
  },
});

Deno.test({
  name: "on a terminal, the third wrong password ends the client with exit 3",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer();
    await using terminal = await clientOnTerminal(server, server.knownHosts);
    for (let tries = 1; tries <= 3; tries++) {
      await terminal.expect(
        (screen) => count(screen, PROMPT) === tries,
        `password prompt ${tries}`,
      );
      await terminal.typeLine(`wrong-${tries}`);
    }
    assert.equal(await terminal.exitCode(), 3);
    const screen = await terminal.screen();
    assert.equal(count(screen, "Permission denied, please try again."), 2);
    assert.match(screen, /dfos: alice@127\.0\.0\.1:\d+: wrong user name or password/);
    assert.equal(await failedLogins(server), 3);
  },
});

Deno.test({
  name: "on a terminal, a lockout is not asked about again",
  ignore: !(await hasTmux),
  async fn() {
    await using server = await startServer(["--max-login-failures=1"]);
    await using terminal = await clientOnTerminal(server, server.knownHosts);
    await terminal.expect(PROMPT);
    await terminal.typeLine("wrong");
    await terminal.expect((screen) => count(screen, PROMPT) === 2, "the second password prompt");
    await terminal.typeLine(USERS.alice);
    assert.equal(await terminal.exitCode(), 3);
    const screen = await terminal.screen();
    assert.match(screen, /too many failed logins/);
    assert.equal(count(screen, PROMPT), 2, screen);
  },
});

Deno.test("a password from DFOS_PASSWORD or --password-file gets one try", async () => {
  await using server = await startServer();
  const passwordFile = join(server.dir, "password.txt");
  await Deno.writeTextFile(passwordFile, "wrong\n");
  const fromEnvironment = await runClient(server, ["ls"], { password: "wrong" });
  const fromFile = await runClient(server, [`--password-file=${passwordFile}`, "ls"], {
    password: "",
  });
  for (const result of [fromEnvironment, fromFile]) {
    assert.equal(result.code, 3);
    assert.match(result.stderr, /^dfos: alice@127\.0\.0\.1:\d+: wrong user name or password\n$/);
  }
  assert.equal(await failedLogins(server), 2);
});
