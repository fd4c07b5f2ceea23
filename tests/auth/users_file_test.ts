import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password_hash.ts";
import {
  parseUsersFile,
  removeUser,
  setUser,
  updateUsersFile,
  USER_NAME_PATTERN,
  writeUsersFileAtomically,
} from "../../src/auth/users_file.ts";

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

Deno.test("scrypt hashes are accepted as secrets; a malformed one is reported and skipped", async () => {
  const hash = await hashPassword("pw", { ln: 10, r: 8, p: 1 });
  const { users, problems } = parseUsersFile(`alice:${hash}\nbob:scrypt$ln=10$x\ncarol:plain`);
  assert.equal(users.get("alice")?.secret, hash);
  assert.equal(users.get("carol")?.secret, "plain");
  assert.equal(users.has("bob"), false);
  assert.equal(problems.length, 1);
  assert.equal(problems[0].line, 2);
  assert.match(problems[0].reason, /^malformed password hash for bob: /);
});

const SAMPLE = "# users\n\nalice:one\n  # about bob\nbob:two\ncarol:three\n";

Deno.test("setUser rewrites the user's line in place, keeping comments, blanks and order", () => {
  assert.equal(
    setUser(SAMPLE, "bob", "scrypt$new"),
    "# users\n\nalice:one\n  # about bob\nbob:scrypt$new\ncarol:three\n",
  );
});

Deno.test("setUser appends a new user at the end, adding a missing final newline", () => {
  assert.equal(setUser(SAMPLE, "dave", "x"), `${SAMPLE}dave:x\n`);
  assert.equal(setUser("# only\nalice:one", "dave", "x"), "# only\nalice:one\ndave:x\n");
  assert.equal(setUser("", "dave", "x"), "dave:x\n");
});

Deno.test("setUser keeps CRLF line endings", () => {
  assert.equal(setUser("a:1\r\nb:2\r\n", "a", "z"), "a:z\r\nb:2\r\n");
  assert.equal(setUser("a:1\r\n", "c", "z"), "a:1\r\nc:z\r\n");
});

Deno.test("setUser drops ignored duplicates and fixes a broken line of the same user", () => {
  assert.equal(setUser("alice:1\nbob:2\nalice:3\n", "alice", "new"), "alice:new\nbob:2\n");
  assert.equal(setUser("alice:\nbob:2\n", "alice", "new"), "alice:new\nbob:2\n");
  assert.equal(setUser("# alice:1\n", "alice", "new"), "# alice:1\nalice:new\n");
});

Deno.test("setUser refuses an invalid name or a secret that would not read back", () => {
  assert.throws(() => setUser("", ".hidden", "x"), RangeError);
  assert.throws(() => setUser("", "a/b", "x"), RangeError);
  assert.throws(() => setUser("", "alice", ""), RangeError);
  assert.throws(() => setUser("", "alice", "two\nlines"), RangeError);
  assert.throws(() => setUser("", "alice", " padded "), RangeError);
});

Deno.test("removeUser removes every line of the user and nothing else", () => {
  assert.equal(removeUser(SAMPLE, "bob"), "# users\n\nalice:one\n  # about bob\ncarol:three\n");
  assert.equal(removeUser("a:1\nb:2\na:3", "a"), "b:2");
  assert.equal(removeUser(SAMPLE, "nobody"), SAMPLE);
});

async function withTempDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-users-" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeUsersFileAtomically replaces the file with mode 0600 and leaves no temp file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/users.txt`;
    await Deno.writeTextFile(path, "alice:old\n", { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    await writeUsersFileAtomically(path, "alice:new\n");
    assert.equal(await Deno.readTextFile(path), "alice:new\n");
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["users.txt"]);
  });
});

Deno.test("updateUsersFile refuses a missing file unless asked to create it (mode 0600)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/users.txt`;
    await assert.rejects(
      updateUsersFile(path, (text) => setUser(text, "a", "x")),
      Deno.errors.NotFound,
    );
    assert.equal(
      await updateUsersFile(path, (text) => setUser(text, "a", "x"), { createIfMissing: true }),
      true,
    );
    assert.equal(await Deno.readTextFile(path), "a:x\n");
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await updateUsersFile(path, () => undefined), false, "no change, no write");
  });
});

Deno.test("concurrent updates of one file in one process all land", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/users.txt`;
    await Deno.writeTextFile(path, "# header\n");
    const names = Array.from({ length: 25 }, (_, index) => `user${index}`);
    await Promise.all(names.map((name) =>
      updateUsersFile(path, async (text) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        return setUser(text, name, `secret-${name}`);
      })
    ));
    const { users, problems } = parseUsersFile(await Deno.readTextFile(path));
    assert.deepEqual(problems, []);
    assert.deepEqual([...users.keys()].sort(), [...names].sort());
    assert.equal(users.get("user7")?.secret, "secret-user7");
  });
});

Deno.test("a failed edit does not block the updates queued after it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/users.txt`;
    await Deno.writeTextFile(path, "");
    const failing = updateUsersFile(path, () => {
      throw new Error("edit failed");
    });
    const next = updateUsersFile(path, (text) => setUser(text, "a", "x"));
    await assert.rejects(failing, /edit failed/);
    assert.equal(await next, true);
    assert.equal(await Deno.readTextFile(path), "a:x\n");
  });
});
