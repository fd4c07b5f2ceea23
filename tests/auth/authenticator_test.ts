import assert from "node:assert/strict";
import { Authenticator, constantTimeEqual } from "../../src/auth/authenticator.ts";
import type { UsersFileProblem } from "../../src/auth/users_file.ts";

interface Report {
  path: string;
  problems: UsersFileProblem[];
}

/** A users file in a fresh temporary directory, and an Authenticator on it. */
async function withUsersFile(
  text: string,
  test: (context: { path: string; auth: Authenticator; reports: Report[] }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-auth-" });
  const path = `${dir}/id_passwd.txt`;
  await Deno.writeTextFile(path, text);
  const reports: Report[] = [];
  const auth = new Authenticator(path, (path, problems) => reports.push({ path, problems }));
  try {
    await test({ path, auth, reports });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Rewrites the file and moves its mtime clearly forward, as an edit would. */
async function rewrite(path: string, text: string, secondsLater: number): Promise<void> {
  await Deno.writeTextFile(path, text);
  const later = new Date(Date.now() + secondsLater * 1000);
  await Deno.utime(path, later, later);
}

Deno.test("verify accepts the right password and refuses a wrong one", async () => {
  await withUsersFile("alice:wonder:land\nbob:builder\n", async ({ auth }) => {
    assert.equal(await auth.verify("alice", "wonder:land"), true);
    assert.equal(await auth.verify("bob", "builder"), true);
    assert.equal(await auth.verify("alice", "wonder"), false);
    assert.equal(await auth.verify("alice", "builder"), false);
    assert.equal(await auth.verify("alice", ""), false);
    assert.equal(await auth.verify("Alice", "wonder:land"), false, "names are case-sensitive");
  });
});

Deno.test("verify refuses an unknown user, whatever the password", async () => {
  await withUsersFile("alice:pw\n", async ({ auth }) => {
    assert.equal(await auth.verify("mallory", "pw"), false);
    assert.equal(await auth.verify("mallory", ""), false);
    assert.equal(await auth.verify("mallory", "\u0000unknown-user"), false);
    assert.equal(await auth.verify("", ""), false);
  });
});

Deno.test("load returns the number of users and reports skipped lines once", async () => {
  await withUsersFile("alice:pw\nbroken\nbob:\ncarol:pw\n", async ({ path, auth, reports }) => {
    assert.equal(await auth.load(), 2);
    assert.deepEqual(reports, [{
      path,
      problems: [
        { line: 2, reason: "expected username:password" },
        { line: 3, reason: "empty password for bob" },
      ],
    }]);
    await auth.verify("alice", "pw");
    assert.equal(await auth.load(), 2);
    assert.equal(reports.length, 1, "an unchanged file is not parsed again");
  });
});

Deno.test("a changed users file is re-read: new users get in, removed ones do not", async () => {
  await withUsersFile("alice:old\nbob:pw\n", async ({ path, auth }) => {
    assert.equal(await auth.verify("alice", "old"), true);
    await rewrite(path, "alice:new\ncarol:pw\n", 10);
    assert.equal(await auth.verify("alice", "new"), true);
    assert.equal(await auth.verify("alice", "old"), false);
    assert.equal(await auth.verify("carol", "pw"), true);
    assert.equal(await auth.verify("bob", "pw"), false);
  });
});

Deno.test("users already loaded keep working while the file is missing", async () => {
  await withUsersFile("alice:pw\n", async ({ path, auth }) => {
    await auth.load();
    await Deno.remove(path);
    assert.equal(await auth.verify("alice", "pw"), true);
    await rewrite(path, "alice:back\n", 20);
    assert.equal(await auth.verify("alice", "back"), true);
  });
});

Deno.test("load fails when the users file cannot be read at all", async () => {
  const auth = new Authenticator("/nonexistent/dfos/id_passwd.txt", () => {});
  await assert.rejects(auth.load(), Deno.errors.NotFound);
  assert.equal(await auth.verify("alice", "pw"), false);
});

Deno.test("constantTimeEqual is true only for identical strings", () => {
  assert.equal(constantTimeEqual("secret", "secret"), true);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("pässwörd 🔑", "pässwörd 🔑"), true);
  assert.equal(constantTimeEqual("secret", "Secret"), false);
  assert.equal(constantTimeEqual("secret", "secret "), false);
  assert.equal(constantTimeEqual("secret", ""), false);
  assert.equal(constantTimeEqual("a".repeat(10_000), "a".repeat(9_999)), false);
  assert.equal(constantTimeEqual("e\u0301", "\u00e9"), false, "no Unicode normalisation");
});
