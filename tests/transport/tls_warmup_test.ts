import assert from "node:assert/strict";
import { serverCommand } from "../../src/cli/server_command.ts";
import { usesTls, warmUpTls } from "../../src/transport/tls_warmup.ts";

Deno.test("the TLS warm-up is for client commands and servers that use TLS", () => {
  assert.equal(usesTls(["client", "--host", "10.0.0.5", "ls"]), true);
  assert.equal(usesTls(["client"]), true);
  assert.equal(usesTls(["client", "--insecure-no-tls", "--host", "h", "ls"]), false);
  assert.equal(usesTls(["server"]), true);
  assert.equal(usesTls(["server", "--port", "33000", "--storage", "/srv/dfos"]), true);
  assert.equal(usesTls(["server", "--insecure-no-tls"]), false);
  assert.equal(usesTls(["server", "status"]), false);
  assert.equal(usesTls(["server", "stop", "--storage", "/srv/dfos"]), false);
  assert.equal(usesTls(["user", "add", "alice"]), false);
  assert.equal(usesTls(["discover"]), false);
  assert.equal(usesTls([]), false);
});

Deno.test("the TLS warm-up settles without a value, whether it ran or not", async () => {
  assert.equal(await warmUpTls(["client", "ls"]), undefined);
  assert.equal(await warmUpTls(["server", "stop"]), undefined);
});

Deno.test("every subcommand of `server` is one the warm-up knows to skip", () => {
  const subcommands = serverCommand(() => {}).commands.map((command) => command.name());
  assert.ok(subcommands.length > 0);
  for (const name of subcommands) assert.equal(usesTls(["server", name]), false, name);
});
