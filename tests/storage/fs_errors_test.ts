import assert from "node:assert/strict";
import { STATUS } from "../../src/protocol/status.ts";
import { toStorageError } from "../../src/storage/fs_errors.ts";

Deno.test("a path too long for the system (ENAMETOOLONG) maps to INVALID_PATH with a clear reason", () => {
  const tooLong = "/tmp/" + "a/".repeat(2100); // Over PATH_MAX (4096), every name short.
  let thrown: unknown;
  try {
    Deno.statSync(tooLong);
  } catch (error) {
    thrown = error;
  }
  assert.equal((thrown as { code?: string }).code, "ENAMETOOLONG");
  const mapped = toStorageError(thrown, "/docs/deep");
  assert.equal(mapped.code, STATUS.INVALID_PATH);
  assert.equal(mapped.message, "/docs/deep: the path is too long for the server's filesystem");
});
