import assert from "node:assert/strict";
import { plural } from "../../src/shared/plural.ts";

Deno.test("plural uses the singular for exactly one and the plural otherwise", () => {
  assert.equal(plural(1, "session"), "1 session");
  assert.equal(plural(0, "session"), "0 sessions");
  assert.equal(plural(2, "file"), "2 files");
  assert.equal(plural(1, "directory", "directories"), "1 directory");
  assert.equal(plural(7, "directory", "directories"), "7 directories");
});
