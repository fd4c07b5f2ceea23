/**
 * The registry of live sessions and their running transfers that
 * `dfos server status` reads, and the transfer registry's wiring into it.
 */

import assert from "node:assert/strict";
import { LiveSession, SessionRegistry } from "../../src/server/session_registry.ts";
import { TransferRegistry } from "../../src/server/transfers.ts";
import type { Upload } from "../../src/storage/storage.ts";

Deno.test("a session is listed from login to logout, with each transfer until it ends", () => {
  let now = 1_000;
  const registry = new SessionRegistry({ now: () => now });
  const alice = new LiveSession(
    { sessionId: "a1", user: "alice", remote: "127.0.0.1:5" },
    () => now,
  );
  registry.add(alice);
  now = 2_000;
  const upload = alice.begin({ direction: "upload", path: "/big.bin", size: 100, offset: 40 });
  upload.moved = 10;
  assert.deepEqual(registry.sessions.map((session) => session.user), ["alice"]);
  assert.deepEqual(
    alice.transfers.map((t) => [t.direction, t.path, t.done, t.size, t.startedAt]),
    [["upload", "/big.bin", 50, 100, 2_000]],
  );
  upload.end();
  upload.end();
  assert.deepEqual(alice.transfers, []);
  registry.remove(alice);
  assert.deepEqual(registry.sessions, []);
  assert.equal(registry.served, 1, "served counts sessions that have left");
  assert.equal(registry.startedAt, 1_000);
});

/** An upload that takes whatever it is given. */
function acceptingUpload(offset: number): Upload {
  return {
    offset,
    write: () => Promise.resolve(),
    commit: () => Promise.reject(new Error("not in this test")),
    abort: () => Promise.resolve(),
  };
}

Deno.test("an upload is listed with its resume offset and announced size, and leaves when the session closes", async () => {
  const session = new LiveSession({ sessionId: "s", user: "bob", remote: "127.0.0.1:6" });
  const transfers = new TransferRegistry(() => {}, session);
  transfers.addUpload(3, {
    upload: acceptingUpload(4),
    target: { path: "/x.bin" },
    reservation: () => {},
    size: 10,
  });
  const [listed] = session.transfers;
  assert.deepEqual([listed.direction, listed.path, listed.offset, listed.size, listed.done], [
    "upload",
    "/x.bin",
    4,
    10,
    4,
  ]);
  await transfers.closeAll("the session ended");
  assert.deepEqual(session.transfers, []);
});
