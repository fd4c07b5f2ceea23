/**
 * The binary, the launcher and the tests must run with the same permissions.
 */

import assert from "node:assert/strict";
import { PERMISSION_FLAGS, RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import config from "../../deno.json" with { type: "json" };

const LAUNCHER = new URL("../../dfos", import.meta.url);

Deno.test("the ./dfos launcher runs main.ts with exactly the binary's permission flags and V8 settings", async () => {
  const text = await Deno.readTextFile(LAUNCHER);
  const lines = text.split("\n").filter((line) => line.startsWith("permissions=("));
  assert.equal(lines.length, 1, "one permissions=(...) line in ./dfos");
  assert.equal(lines[0], `permissions=(${PERMISSION_FLAGS.join(" ")})`);
  const v8 = text.split("\n").filter((line) => line.startsWith("v8=("));
  assert.deepEqual(v8, [`v8=(${RUNTIME_FLAGS.at(-1)})`], "and V8's settings");
  assert.match(text, /"\$\{permissions\[@\]\}" "\$\{v8\[@\]\}" "\$root\/main\.ts" "\$@"/);
});

Deno.test("no deno task runs the program with flags of its own: ./dfos is the one way", () => {
  for (const [name, command] of Object.entries(config.tasks)) {
    assert.doesNotMatch(command, /deno run .*main\.ts/, `task ${name} runs main.ts`);
  }
});

Deno.test("the permission flags grant no subprocess or FFI, and of the system only the host name and interfaces", () => {
  for (const flag of PERMISSION_FLAGS) {
    assert.doesNotMatch(flag, /allow-(run|ffi|all)|^-A$/);
  }
  const system = PERMISSION_FLAGS.filter((flag) => flag.startsWith("--allow-sys"));
  assert.deepEqual(system, ["--allow-sys=hostname,networkInterfaces"]);
});
