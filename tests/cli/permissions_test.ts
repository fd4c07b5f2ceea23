/**
 * The binary, the tasks and the tests must run with the same permissions.
 */

import assert from "node:assert/strict";
import { PERMISSION_FLAGS } from "../../src/cli/permissions.ts";
import config from "../../deno.json" with { type: "json" };

Deno.test("the server and client tasks run main.ts with exactly the binary's permission flags", () => {
  for (const task of ["server", "client"] as const) {
    const command = config.tasks[task];
    assert.equal(command, `deno run ${PERMISSION_FLAGS.join(" ")} main.ts ${task}`);
  }
});

Deno.test("the permission flags grant no subprocess, FFI or system access", () => {
  for (const flag of PERMISSION_FLAGS) {
    assert.doesNotMatch(flag, /allow-(run|ffi|sys|all)|^-A$/);
  }
});
