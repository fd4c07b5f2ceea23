import assert from "node:assert/strict";
import {
  Authenticator,
  type AuthenticatorOptions,
  constantTimeEqual,
  type RehashOutcome,
} from "../../src/auth/authenticator.ts";
import { hashPassword, isHashed, verifyPassword } from "../../src/auth/password_hash.ts";
import { parseUsersFile, type UsersFileProblem } from "../../src/auth/users_file.ts";

/** Cheap scrypt parameters for tests that are not about cost. */
const FAST = { ln: 10, r: 8, p: 1 };

interface Report {
  path: string;
  problems: UsersFileProblem[];
}

interface Context {
  path: string;
  auth: Authenticator;
  reports: Report[];
  rehashes: RehashOutcome[];
}

/** A users file in a fresh temporary directory, and an Authenticator on it (cheap scrypt unless `options` say otherwise). */
async function withUsersFile(
  text: string,
  test: (context: Context) => Promise<void>,
  options: AuthenticatorOptions = { scryptParams: FAST },
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-auth-" });
  const path = `${dir}/id_passwd.txt`;
  await Deno.writeTextFile(path, text);
  const reports: Report[] = [];
  const rehashes: RehashOutcome[] = [];
  const auth = new Authenticator(
    path,
    (path, problems) => reports.push({ path, problems }),
    { ...options, onRehash: (outcome) => rehashes.push(outcome) },
  );
  try {
    await test({ path, auth, reports, rehashes });
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
  await withUsersFile("alice:pw\n", async ({ path, auth, rehashes }) => {
    await auth.load();
    await Deno.remove(path);
    assert.equal(await auth.verify("alice", "pw"), true);
    assert.equal(rehashes.length, 1);
    assert.equal(
      rehashes[0].result,
      "failed",
      "the hash could not be stored, the login still works",
    );
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

Deno.test("a hashed user verifies with the right password only", async () => {
  const hash = await hashPassword("hashed secret", FAST);
  await withUsersFile(`alice:${hash}\nbob:legacy\n`, async ({ auth, rehashes }) => {
    assert.equal(await auth.verify("alice", "hashed secret"), true);
    assert.equal(await auth.verify("alice", hash), false, "the hash itself is not a password");
    assert.equal(await auth.verify("alice", "legacy"), false);
    assert.equal(await auth.verify("bob", "legacy"), true);
    assert.deepEqual(rehashes, [{ user: "bob", result: "rehashed" }]);
  });
});

Deno.test("a legacy user's line is rehashed in place after a successful login", async () => {
  const text = "# team\nalice:alice-plain\n\n# ops\nbob:bob-plain\n";
  await withUsersFile(text, async ({ path, auth, rehashes }) => {
    assert.deepEqual(await auth.load(), 2);
    assert.deepEqual(auth.legacyUsers(), ["alice", "bob"]);
    assert.equal(await auth.verify("alice", "alice-plain"), true);
    const after = await Deno.readTextFile(path);
    assert.ok(!after.includes("alice-plain"), "the plaintext password is gone from the file");
    const lines = after.split("\n");
    assert.deepEqual([lines[0], lines[2], lines[3], lines[4]], [
      "# team",
      "",
      "# ops",
      "bob:bob-plain",
    ]);
    const secret = parseUsersFile(after).users.get("alice")!.secret;
    assert.match(secret, /^scrypt\$ln=10,r=8,p=1\$/);
    assert.equal(await verifyPassword(secret, "alice-plain"), true);
    assert.deepEqual(rehashes, [{ user: "alice", result: "rehashed" }]);
    assert.deepEqual(auth.legacyUsers(), ["bob"]);
    assert.equal(await auth.verify("alice", "alice-plain"), true, "still logs in, now by hash");
    assert.equal(rehashes.length, 1, "a current hash is not rehashed again");
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("logins of a legacy user queued together rehash once: each check reads the secret when it runs", async () => {
  await withUsersFile("alice:alice-plain\n", async ({ auth, rehashes }) => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () => auth.verify("alice", "alice-plain")),
    );
    assert.deepEqual(results, [true, true, true, true, true, true]);
    assert.deepEqual(rehashes, [{ user: "alice", result: "rehashed" }]);
  }, { scryptParams: FAST, checkSlots: 1 });
});

Deno.test("a failed login of a legacy user leaves the file untouched", async () => {
  const text = "alice:alice-plain\n";
  await withUsersFile(text, async ({ path, auth, rehashes }) => {
    assert.equal(await auth.verify("alice", "wrong"), false);
    assert.equal(await auth.verify("alice", ""), false);
    assert.equal(await Deno.readTextFile(path), text);
    assert.deepEqual(rehashes, []);
    assert.deepEqual(auth.legacyUsers(), ["alice"]);
  });
});

Deno.test("a hash with weaker parameters than configured is upgraded after a login", async () => {
  const weak = await hashPassword("pw", FAST);
  await withUsersFile(`alice:${weak}\n`, async ({ path, auth, rehashes }) => {
    assert.equal(await auth.verify("alice", "pw"), true);
    const secret = parseUsersFile(await Deno.readTextFile(path)).users.get("alice")!.secret;
    assert.match(secret, /^scrypt\$ln=11,r=8,p=1\$/);
    assert.deepEqual(rehashes, [{ user: "alice", result: "rehashed" }]);
    assert.deepEqual(auth.legacyUsers(), [], "a weak hash is not plaintext");
  }, { scryptParams: { ln: 11, r: 8, p: 1 } });
});

Deno.test("a line edited since it was loaded is not overwritten by the rehash", async () => {
  await withUsersFile("alice:pw-one\n", async ({ path, auth, rehashes }) => {
    await auth.load();
    // Same size, same inode, same mtime: the authenticator keeps its stale copy.
    const { mtime, atime } = await Deno.stat(path);
    await Deno.writeTextFile(path, "alice:pw-two\n");
    await Deno.utime(path, atime!, mtime!);
    assert.equal(await auth.verify("alice", "pw-one"), true);
    assert.equal(await Deno.readTextFile(path), "alice:pw-two\n");
    assert.deepEqual(rehashes, [{ user: "alice", result: "changed" }]);
  });
});

Deno.test("a rehash keeps users added to the file by someone else meanwhile", async () => {
  await withUsersFile("alice:pw\n#ob:new\n", async ({ path, auth }) => {
    await auth.load();
    const { mtime, atime } = await Deno.stat(path);
    await Deno.writeTextFile(path, "alice:pw\nbob:new\n"); // unseen: same size and mtime
    await Deno.utime(path, atime!, mtime!);
    assert.equal(await auth.verify("alice", "pw"), true);
    const users = parseUsersFile(await Deno.readTextFile(path)).users;
    assert.ok(isHashed(users.get("alice")!.secret));
    assert.equal(users.get("bob")?.secret, "new");
  });
});

Deno.test("skipped lines are not reported again after a rehash rewrote the file", async () => {
  await withUsersFile("alice:pw\nbroken\n", async ({ auth, reports, rehashes }) => {
    assert.equal(await auth.verify("alice", "pw"), true);
    assert.equal(await auth.load(), 1);
    assert.deepEqual(rehashes, [{ user: "alice", result: "rehashed" }]);
    assert.equal(reports.length, 1);
  });
});

async function meanMilliseconds(run: () => Promise<unknown>, times: number): Promise<number> {
  let total = 0;
  for (let index = 0; index < times; index++) {
    const start = performance.now();
    await run();
    total += performance.now() - start;
  }
  return total / times;
}

Deno.test("an unknown user costs about as much as a known user's wrong password", async () => {
  const hash = await hashPassword("right");
  await withUsersFile(`alice:${hash}\nbob:plain-legacy\n`, async ({ auth }) => {
    await auth.verify("alice", "warm-up");
    const known: number[] = [];
    const unknown: number[] = [];
    const legacy: number[] = [];
    for (let round = 0; round < 5; round++) {
      known.push(await meanMilliseconds(() => auth.verify("alice", "wrong"), 1));
      unknown.push(await meanMilliseconds(() => auth.verify("mallory", "wrong"), 1));
      legacy.push(await meanMilliseconds(() => auth.verify("bob", "wrong"), 1));
    }
    const mean = (values: number[]) =>
      values.reduce((sum, value) => sum + value, 0) / values.length;
    for (const [what, values] of [["unknown user", unknown], ["legacy user", legacy]] as const) {
      const ratio = mean(values) / mean(known);
      assert.ok(
        ratio > 0.5 && ratio < 2,
        `${what}: ${mean(values).toFixed(1)} ms vs ${mean(known).toFixed(1)} ms for a known user`,
      );
    }
  }, {});
});

Deno.test("a burst of logins with the right password costs one check, later ones none while remembered", async () => {
  const hash = await hashPassword("right", FAST);
  await withUsersFile(`alice:${hash}\n`, async ({ auth }) => {
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => auth.verify("alice", "right")),
    );
    assert.deepEqual(new Set(burst), new Set([true]));
    assert.equal(auth.checksRun, 1, "the burst waited for one check");
    assert.equal(await auth.verify("alice", "right"), true);
    assert.equal(auth.checksRun, 1, "remembered");
  });
});

Deno.test("wrong passwords and unknown users are never remembered: each costs a check", async () => {
  const hash = await hashPassword("right", FAST);
  await withUsersFile(`alice:${hash}\n`, async ({ auth }) => {
    assert.equal(await auth.verify("alice", "right"), true);
    for (let attempt = 0; attempt < 3; attempt++) {
      assert.equal(await auth.verify("alice", "wrong"), false);
      assert.equal(await auth.verify("mallory", "right"), false);
    }
    assert.equal(auth.checksRun, 7);
    const guesses = await Promise.all(["a", "b", "c"].map((guess) => auth.verify("alice", guess)));
    assert.deepEqual(guesses, [false, false, false]);
    assert.equal(auth.checksRun, 10, "different guesses never share a check");
  });
});

Deno.test("a changed password is not served from memory, and the cache can be off or expire", async () => {
  const hash = await hashPassword("old", FAST);
  await withUsersFile(`alice:${hash}\n`, async ({ auth, path }) => {
    assert.equal(await auth.verify("alice", "old"), true);
    await rewrite(path, `alice:${await hashPassword("new", FAST)}\n`, 5);
    assert.equal(await auth.verify("alice", "old"), false);
    assert.equal(await auth.verify("alice", "new"), true);
    assert.equal(auth.checksRun, 3);
  });
  await withUsersFile(`alice:${hash}\n`, async ({ auth }) => {
    for (let login = 0; login < 3; login++) assert.equal(await auth.verify("alice", "old"), true);
    assert.equal(auth.checksRun, 3, "--no-login-cache: every login is checked");
  }, { scryptParams: FAST, loginCacheMs: 0 });
  await withUsersFile(`alice:${hash}\n`, async ({ auth }) => {
    assert.equal(await auth.verify("alice", "old"), true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(await auth.verify("alice", "old"), true);
    assert.equal(auth.checksRun, 2, "checked again once expired");
  }, { scryptParams: FAST, loginCacheMs: 50 });
});
