import assert from "node:assert/strict";
import { MAX_TEXT_BYTES } from "../../src/protocol/constants.ts";
import { STATUS } from "../../src/protocol/status.ts";
import { ConnectionLost, describeError, fitText } from "../../src/server/error_reply.ts";
import { StorageError } from "../../src/storage/storage.ts";

const bytes = (text: string) => new TextEncoder().encode(text).length;

Deno.test("an over-long message loses bytes from its middle, keeping the path's start and the cause", () => {
  const message = `/${"é".repeat(3000)}: no such file or directory`;
  const fitted = fitText(message);
  assert.ok(bytes(fitted) <= MAX_TEXT_BYTES, `${bytes(fitted)} bytes`);
  assert.ok(fitted.startsWith("/éé"));
  assert.ok(fitted.endsWith(": no such file or directory"));
  assert.ok(fitted.includes("..."));
  assert.ok(!fitted.includes("\ufffd"), "no character is cut in two");
  assert.equal(fitText("short"), "short");
});

Deno.test("a lost connection is described without being logged as an internal error", () => {
  const lost = new ConnectionLost(new Deno.errors.BrokenPipe("broken pipe"));
  assert.deepEqual(describeError(lost), { code: STATUS.IO_ERROR, message: "client left" });
  assert.match(lost.message, /client left \(broken pipe\)/);
  const storage = new StorageError(STATUS.NOT_FOUND, "/a: no such file or directory");
  assert.equal(describeError(storage).code, STATUS.NOT_FOUND);
});
