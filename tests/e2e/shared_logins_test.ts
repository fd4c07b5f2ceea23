/**
 * Two `dfos server --database` nodes on one PostgreSQL database, each with a
 * storage folder of its own: users managed with `dfos user … --database`
 * log in on both, the session limit and lockouts hold across them, a deleted
 * user is out on both, and a database killed and restarted makes logins fail
 * clearly meanwhile and work again after, without restarting the nodes.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  dfosCommand,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { postgresMissing, sharedPostgres, type TestPostgres } from "../helpers/postgres.ts";

const missing = postgresMissing();
const ignore = missing !== undefined;
const why = missing ? ` (skipped: ${missing})` : "";

/** Runs `dfos user ARGS --database=URL` with `stdin`; its exit code and output. */
async function userCommand(url: string, args: string[], stdin = "") {
  const child = dfosCommand(["user", ...args, `--database=${url}`], { stdin: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Two nodes on a fresh database (with `flags`), stopped after `body`. */
async function withTwoNodes(
  flags: string[],
  body: (a: TestServer, b: TestServer, url: string, postgres: TestPostgres) => Promise<void>,
) {
  const postgres = await sharedPostgres();
  const url = await postgres.createDatabase();
  // One node migrates first: both would wait their turn, but the start is quicker this way.
  await using a = await startServer([`--database=${url}`, ...flags]);
  await using b = await startServer([`--database=${url}`, ...flags]);
  await body(a, b, url, postgres);
}

Deno.test({
  name:
    `a user added with dfos user add --database logs in on both nodes, after passwd with the new password only, after del on neither${why}`,
  ignore,
  async fn() {
    await withTwoNodes([], async (a, b, url) => {
      assert.match(
        a.output(),
        /users from the database at 127\.0\.0\.1:\d+ \(the users file is not read\)/,
      );
      const fileUser = await runClient(a, ["pwd"]);
      assert.equal(fileUser.code, 3, "alice of the node's users file is not a user of the site");
      const added = await userCommand(url, ["add", "dora"], "dora-pw\n");
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^added dora to the database at 127\.0\.0\.1:\d+\n$/);
      const again = await userCommand(url, ["add", "dora"], "other\n");
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^dfos: user: user dora already exists in the database at /);
      for (const node of [a, b]) {
        const result = await runClient(node, ["pwd"], { user: "dora", password: "dora-pw" });
        assert.equal(result.code, 0, result.stderr);
      }
      assert.equal((await userCommand(url, ["list"])).stdout, "dora\n");
      const changed = await userCommand(url, ["passwd", "dora"], "new-pw\n");
      assert.equal(changed.code, 0, changed.stderr);
      for (const node of [a, b]) {
        const old = await runClient(node, ["pwd"], { user: "dora", password: "dora-pw" });
        assert.equal(old.code, 3, "the password that passed a moment ago is refused");
        const fresh = await runClient(node, ["pwd"], { user: "dora", password: "new-pw" });
        assert.equal(fresh.code, 0, fresh.stderr);
      }
      const removed = await userCommand(url, ["del", "dora"]);
      assert.equal(removed.code, 0, removed.stderr);
      for (const node of [a, b]) {
        const result = await runClient(node, ["pwd"], { user: "dora", password: "new-pw" });
        assert.equal(result.code, 3, "deleted: refused at once, the login cache does not hold");
        assert.match(result.stderr, /wrong user name or password/);
      }
      const gone = await userCommand(url, ["del", "dora"]);
      assert.equal(gone.code, 1, "no such user any more");
      assert.match(gone.stderr, /^dfos: user: no user dora in the database at 127\.0\.0\.1:\d+\n$/);
    });
  },
});

Deno.test({
  name:
    `dfos user import copies a users file into the database, hashing plaintext, keeping existing users unless --replace${why}`,
  ignore,
  async fn() {
    await withTwoNodes([], async (a, _b, url) => {
      const dir = await Deno.makeTempDir({ prefix: "dfos-import-" });
      try {
        assert.equal((await userCommand(url, ["add", "alice"], "kept-pw\n")).code, 0);
        const file = join(dir, "users.txt");
        await Deno.writeTextFile(file, "# team\nalice:file-pw\nbob:bob-pw\nnot a line\n");
        const imported = await userCommand(url, ["import", `--users=${file}`]);
        assert.equal(imported.code, 0, imported.stderr);
        assert.match(imported.stdout, /1 added, 0 replaced, 1 already there and kept/);
        assert.match(imported.stderr, /users\.txt:4: expected username:password; line skipped/);
        assert.equal((await runClient(a, ["pwd"], { user: "bob", password: "bob-pw" })).code, 0);
        assert.equal((await runClient(a, ["pwd"], { password: "kept-pw" })).code, 0);
        const replaced = await userCommand(url, ["import", `--users=${file}`, "--replace"]);
        assert.match(replaced.stdout, /0 added, 2 replaced, 0 already there and kept/);
        assert.equal((await runClient(a, ["pwd"], { password: "file-pw" })).code, 0);
        const missingFile = await userCommand(url, ["import", `--users=${join(dir, "none")}`]);
        assert.equal(missingFile.code, 1);
        assert.match(missingFile.stderr, /users file .*none not found/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name:
    `a one-session user logged in on node A is refused on node B, and gets in once A's session ends${why}`,
  ignore,
  async fn() {
    await withTwoNodes(["--max-sessions-per-user=1"], async (a, b, url) => {
      assert.equal((await userCommand(url, ["add", "alice"], "alice-secret\n")).code, 0);
      const first = spawnClient(a, []);
      await first.send("pwd");
      await waitFor(() => first.stdout().includes("/"), 15_000, "the session on node A");
      const second = await runClient(b, ["ls"]);
      assert.equal(second.code, 4, second.stderr);
      assert.match(second.stderr, /alice already has 1 open session, the most allowed/);
      await first.send("exit");
      assert.equal(await first.finish(), 0);
      const after = await runClient(b, ["pwd"]);
      assert.equal(after.code, 0, after.stderr);
    });
  },
});

Deno.test({
  name: `failed logins spread across both nodes lock the user out on both${why}`,
  ignore,
  async fn() {
    await withTwoNodes(["--max-login-failures=4", "--lockout=60"], async (a, b, url) => {
      assert.equal((await userCommand(url, ["add", "alice"], "alice-secret\n")).code, 0);
      for (const [attempt, node] of [a, b, a, b].entries()) {
        const guess = await runClient(node, ["pwd"], { password: `guess-${attempt}` });
        assert.equal(guess.code, 3);
        assert.match(guess.stderr, /wrong user name or password/);
      }
      for (const node of [a, b]) {
        const right = await runClient(node, ["pwd"]);
        assert.equal(right.code, 3, "even the right password is refused while locked out");
        assert.match(right.stderr, /too many failed logins for this user; try again in \d+ s/);
      }
    });
  },
});

Deno.test({
  name:
    `the database killed: logins fail clearly as retryable, and work again once it is back, without restarting the nodes${why}`,
  ignore,
  async fn() {
    await withTwoNodes([], async (a, b, url, postgres) => {
      assert.equal((await userCommand(url, ["add", "alice"], "alice-secret\n")).code, 0);
      assert.equal((await runClient(a, ["pwd"])).code, 0);
      await postgres.kill();
      try {
        for (const node of [a, b]) {
          const refused = await runClient(node, ["pwd"]);
          assert.equal(refused.code, 4, refused.stderr);
          assert.match(
            refused.stderr,
            /server busy: cannot log in now \(database unreachable at 127\.0\.0\.1:\d+ .*; try again\)/,
          );
          assert.doesNotMatch(refused.stderr, new RegExp(postgres.password));
        }
        const whileDown = await userCommand(url, ["list"]);
        assert.equal(whileDown.code, 1);
        assert.match(
          whileDown.stderr,
          /^dfos: user: cannot use the database: database unreachable/,
        );
      } finally {
        await postgres.restart();
      }
      for (const node of [a, b]) {
        const result = await runClient(node, ["pwd"]);
        assert.equal(result.code, 0, result.stderr);
      }
    });
  },
});
