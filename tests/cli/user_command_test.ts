/**
 * `dfos user`, run as the real CLI with the binary's permission flags.
 */

import assert from "node:assert/strict";
import { isHashed, verifyPassword } from "../../src/auth/password_hash.ts";
import { parseUsersFile } from "../../src/auth/users_file.ts";
import { dfosCommand } from "../helpers/processes.ts";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dfos user ARGS --users FILE` with `stdin` piped in. */
async function dfosUser(usersFile: string, args: string[], stdin = ""): Promise<Result> {
  const child = dfosCommand(["user", ...args, `--users=${usersFile}`], { stdin: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A path for a users file in a fresh temp folder, optionally created with `text`. */
async function withUsersFile(
  text: string | undefined,
  test: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-user-cli-" });
  const path = `${dir}/id_passwd.txt`;
  if (text !== undefined) await Deno.writeTextFile(path, text);
  try {
    await test(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function secretOf(path: string, name: string): Promise<string | undefined> {
  return parseUsersFile(await Deno.readTextFile(path)).users.get(name)?.secret;
}

async function assertMode0600(path: string): Promise<void> {
  if (Deno.build.os !== "windows") assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
}

Deno.test("user add creates the file (mode 0600) with a hash of the password read from stdin", async () => {
  await withUsersFile(undefined, async (path) => {
    const result = await dfosUser(path, ["add", "alice"], "s3cret pass\nignored second line\n");
    assert.equal(result.code, 0, result.stderr);
    const text = await Deno.readTextFile(path);
    assert.ok(!text.includes("s3cret"), "no plaintext password in the file");
    const secret = (await secretOf(path, "alice"))!;
    assert.match(secret, /^scrypt\$ln=15,r=8,p=1\$/);
    assert.equal(await verifyPassword(secret, "s3cret pass"), true);
    await assertMode0600(path);
  });
});

Deno.test("user add of an existing user fails with exit 1 and leaves the file alone", async () => {
  await withUsersFile("# keep me\nalice:old\n", async (path) => {
    const result = await dfosUser(path, ["add", "alice"], "new\n");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^dfos: user: user alice already exists/);
    assert.equal(await Deno.readTextFile(path), "# keep me\nalice:old\n");
  });
});

Deno.test("user add appends after the comments and users already there", async () => {
  await withUsersFile("# team\nalice:one\n", async (path) => {
    assert.equal((await dfosUser(path, ["add", "bob"], "bob-pw\n")).code, 0);
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.deepEqual(lines.slice(0, 2), ["# team", "alice:one"]);
    assert.match(lines[2], /^bob:scrypt\$/);
  });
});

Deno.test("user passwd replaces the password; an unknown user fails with exit 1", async () => {
  await withUsersFile("# c\nalice:old-pw\nbob:b\n", async (path) => {
    const changed = await dfosUser(path, ["passwd", "alice"], "new-pw\r\n");
    assert.equal(changed.code, 0, changed.stderr);
    const secret = (await secretOf(path, "alice"))!;
    assert.equal(await verifyPassword(secret, "new-pw"), true);
    assert.equal(await verifyPassword(secret, "old-pw"), false);
    assert.deepEqual((await Deno.readTextFile(path)).split("\n")[0], "# c");
    const unknown = await dfosUser(path, ["passwd", "carol"], "pw\n");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^dfos: user: no user carol/);
  });
});

Deno.test("user del removes only that user's line; an unknown user fails with exit 1", async () => {
  await withUsersFile("# c\nalice:a\n\nbob:b\n", async (path) => {
    assert.equal((await dfosUser(path, ["del", "alice"])).code, 0);
    assert.equal(await Deno.readTextFile(path), "# c\n\nbob:b\n");
    await assertMode0600(path);
    const unknown = await dfosUser(path, ["del", "alice"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^dfos: user: no user alice/);
  });
});

Deno.test("user list prints the names and marks plaintext ones", async () => {
  await withUsersFile("# c\nalice:plain\nbroken line\n", async (path) => {
    assert.equal((await dfosUser(path, ["add", "bob"], "pw\n")).code, 0);
    const result = await dfosUser(path, ["list"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "alice (plaintext, will be rehashed at next login)\nbob\n");
    assert.match(result.stderr, /:3: expected username:password; line skipped/);
  });
});

Deno.test("user migrate hashes every plaintext password at once", async () => {
  await withUsersFile("# c\nalice:alice-pw\nbob:bob-pw\n", async (path) => {
    const result = await dfosUser(path, ["migrate"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /rehashed 2 plaintext passwords/);
    const text = await Deno.readTextFile(path);
    assert.ok(text.startsWith("# c\nalice:scrypt$"));
    assert.ok(!text.includes("alice-pw") && !text.includes("bob-pw"));
    for (const name of ["alice", "bob"]) {
      assert.equal(await verifyPassword((await secretOf(path, name))!, `${name}-pw`), true);
    }
    await assertMode0600(path);
    const again = await dfosUser(path, ["migrate"]);
    assert.match(again.stdout, /rehashed 0 plaintext passwords/);
    assert.equal(await Deno.readTextFile(path), text, "nothing left to do, nothing written");
    assert.equal((await dfosUser(path, ["list"])).stdout, "alice\nbob\n");
    assert.ok(isHashed((await secretOf(path, "bob"))!));
  });
});

Deno.test("an invalid user name or an empty password is a usage error (exit 2)", async () => {
  await withUsersFile("alice:a\n", async (path) => {
    const badName = await dfosUser(path, ["add", ".hidden"], "pw\n");
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /^dfos: user: invalid user name "\.hidden"/);
    const empty = await dfosUser(path, ["add", "bob"], "\n");
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /^dfos: user: empty password refused/);
    const noInput = await dfosUser(path, ["passwd", "alice"], "");
    assert.equal(noInput.code, 2);
    assert.equal(await Deno.readTextFile(path), "alice:a\n");
  });
});

Deno.test("an unknown user subcommand or a missing name exits 2 with a dfos: line", async () => {
  await withUsersFile("alice:a\n", async (path) => {
    const unknown = await dfosUser(path, ["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^dfos: unknown command 'frobnicate'/);
    const missing = await dfosUser(path, ["add"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^dfos: missing required argument 'name'/);
    const extra = await dfosUser(path, ["del", "alice", "bob"]);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /^dfos: /);
  });
});

Deno.test("a missing users file fails with exit 1 for everything but add", async () => {
  await withUsersFile(undefined, async (path) => {
    for (const args of [["list"], ["migrate"], ["del", "alice"], ["passwd", "alice"]]) {
      const result = await dfosUser(path, args, "pw\n");
      assert.equal(result.code, 1, args.join(" "));
      assert.match(result.stderr, /^dfos: user: users file .* not found\n$/, args.join(" "));
    }
  });
});

Deno.test("user commands with a database that cannot be used fail clearly: usage for a bad URL or a missing --database, exit 1 for one unreachable", async () => {
  await withUsersFile("alice:pw\n", async (path) => {
    const bad = await dfosUser(path, ["list", "--database=nope"]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^dfos: user: --database: the database URL is not a valid postgres:/);
    const noDatabase = await dfosUser(path, ["import"]);
    assert.equal(noDatabase.code, 2);
    assert.match(noDatabase.stderr, /^dfos: user: import needs --database URL/);
    const away = await dfosUser(path, [
      "del",
      "alice",
      "--database=postgres://dfos@127.0.0.1:1/dfos",
    ]);
    assert.equal(away.code, 1);
    assert.match(
      away.stderr,
      /^dfos: user: cannot use the database: database unreachable at 127\.0\.0\.1:1 .*try again\n$/,
    );
    assert.equal(await Deno.readTextFile(path), "alice:pw\n", "the users file is left alone");
  });
});
