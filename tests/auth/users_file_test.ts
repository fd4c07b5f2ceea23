import assert from "node:assert/strict";
import { parseUsersFile, USER_NAME_PATTERN } from "../../src/auth/users_file.ts";

function secrets(text: string): Record<string, string> {
  return Object.fromEntries([...parseUsersFile(text).users].map(([name, u]) => [name, u.secret]));
}

Deno.test("each username:password line becomes a user with its line number", () => {
  const { users, problems } = parseUsersFile("alice:wonderland\nbob:builder\n");
  assert.deepEqual(problems, []);
  assert.deepEqual(users.get("alice"), { name: "alice", secret: "wonderland", line: 1 });
  assert.deepEqual(users.get("bob"), { name: "bob", secret: "builder", line: 2 });
  assert.equal(users.size, 2);
});

Deno.test("comments and blank lines are skipped but still count as lines", () => {
  const text = "# users\n\n   \n  # indented comment\nalice:pw\n\t\ncarol:pw2";
  const { users, problems } = parseUsersFile(text);
  assert.deepEqual(problems, []);
  assert.deepEqual([...users.keys()], ["alice", "carol"]);
  assert.equal(users.get("alice")?.line, 5);
  assert.equal(users.get("carol")?.line, 7);
});

Deno.test("CRLF line endings are accepted and the CR is not part of the password", () => {
  const { users, problems } = parseUsersFile("alice:pw1\r\n# c\r\nbob:pw2\r\n");
  assert.deepEqual(problems, []);
  assert.equal(users.get("alice")?.secret, "pw1");
  assert.equal(users.get("bob")?.secret, "pw2");
  assert.equal(users.get("bob")?.line, 3);
});

Deno.test("a password keeps everything after the first colon", () => {
  assert.deepEqual(secrets("alice:a:b:c\nbob:::\ncarol:x: y :"), {
    alice: "a:b:c",
    bob: "::",
    carol: "x: y :",
  });
});

Deno.test("a line without a colon is reported with its line number and skipped", () => {
  const { users, problems } = parseUsersFile("alice:pw\njustaname\nbob:pw");
  assert.deepEqual(problems, [{ line: 2, reason: "expected username:password" }]);
  assert.deepEqual([...users.keys()], ["alice", "bob"]);
});

Deno.test("an invalid user name is reported with its line number and skipped", () => {
  const bad = [":pw", ".hidden:pw", "a/b:pw", "al ice:pw", "../x:pw", `${"n".repeat(33)}:pw`];
  const { users, problems } = parseUsersFile(["ok:pw", ...bad].join("\n"));
  assert.deepEqual([...users.keys()], ["ok"]);
  assert.deepEqual(problems.map((problem) => problem.line), [2, 3, 4, 5, 6, 7]);
  assert.match(problems[1].reason, /invalid user name "\.hidden"/);
  for (const problem of problems) assert.match(problem.reason, /invalid user name/);
});

Deno.test("user names allow letters, digits, dot, underscore and dash up to 32 characters", () => {
  for (const name of ["a", "A9", "_x", "-y", "a.b", "first.last-2_x", "n".repeat(32)]) {
    assert.ok(USER_NAME_PATTERN.test(name), name);
    assert.deepEqual(parseUsersFile(`${name}:pw`).problems, [], name);
  }
});

Deno.test("an empty password is reported with its line number and skipped", () => {
  const { users, problems } = parseUsersFile("# header\nalice:\nbob:pw");
  assert.deepEqual(problems, [{ line: 2, reason: "empty password for alice" }]);
  assert.deepEqual([...users.keys()], ["bob"]);
});

Deno.test("a duplicate user is reported and the first definition wins", () => {
  const { users, problems } = parseUsersFile("alice:first\nbob:pw\nalice:second");
  assert.deepEqual(problems, [{ line: 3, reason: "duplicate user alice" }]);
  assert.equal(users.get("alice")?.secret, "first");
  assert.equal(users.get("alice")?.line, 1);
});

Deno.test("several malformed lines are all reported in order", () => {
  const text = "nocolon\nalice:\n.bad:pw\nalice:pw\nalice:again\ngood:pw";
  const { users, problems } = parseUsersFile(text);
  assert.deepEqual(problems.map((problem) => problem.line), [1, 2, 3, 5]);
  assert.deepEqual(secrets(text), { alice: "pw", good: "pw" });
  assert.equal(users.size, 2);
});

Deno.test("an empty file has no users and no problems", () => {
  assert.deepEqual(parseUsersFile(""), { users: new Map(), problems: [] });
});
