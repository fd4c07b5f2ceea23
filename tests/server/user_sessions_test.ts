import assert from "node:assert/strict";
import { UserSessions } from "../../src/server/handshake.ts";

Deno.test("a login at the session limit takes the slot of a session that closes within the grace", async () => {
  const sessions = new UserSessions();
  assert.equal(await sessions.open("alice", 1, 0), true);
  const waiting = sessions.open("alice", 1, 5_000);
  let settled = false;
  waiting.then(() => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(settled, false, "waits while the slot is taken");
  sessions.close("alice");
  assert.equal(await waiting, true, "the freed slot goes to the waiting login");
  assert.equal(sessions.tryOpen("alice", 1), false, "and it holds it");
});

Deno.test("a login at the session limit is refused once the grace is over, and other users are not held up", async () => {
  const sessions = new UserSessions();
  assert.equal(sessions.tryOpen("alice", 1), true);
  const started = performance.now();
  assert.equal(await sessions.open("alice", 1, 50), false);
  assert.ok(performance.now() - started >= 45, "it waited for the grace");
  assert.equal(await sessions.open("bob", 1, 50), true, "bob has his own count");
  sessions.close("alice");
  assert.equal(sessions.tryOpen("alice", 1), true, "a refused wait leaves no claim behind");
});

Deno.test("one close wakes one waiting login per free slot; the others go on waiting", async () => {
  const sessions = new UserSessions();
  assert.equal(sessions.tryOpen("alice", 1), true);
  const first = sessions.open("alice", 1, 200);
  const second = sessions.open("alice", 1, 200);
  sessions.close("alice");
  const results = await Promise.all([first, second]);
  assert.deepEqual(results.sort(), [false, true], "exactly one of the two got the slot");
});
