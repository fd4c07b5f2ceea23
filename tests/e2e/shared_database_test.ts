/**
 * `dfos server --database`: the server opens the shared PostgreSQL database
 * at startup, brings its schema up to date once, says where it is without
 * the password, and refuses to start, clearly, when the database cannot be
 * used. Runs a real PostgreSQL (tests/helpers/postgres.ts).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { dfosCommand, runClient, startServer } from "../helpers/processes.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";

const missing = postgresMissing();
const ignore = missing !== undefined;
const why = missing ? ` (skipped: ${missing})` : "";

/** `url` without its password, and the password. */
function splitPassword(url: string): { bare: string; password: string } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = "";
  return { bare: parsed.href, password };
}

/** Runs `dfos server ARGS` that is expected not to start; its exit code and stderr. */
async function refusedStart(args: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "dfos-db-refused-" });
  try {
    const output = await dfosCommand([
      "server",
      "--host=127.0.0.1",
      "--port=0",
      `--storage=${join(dir, "storage")}`,
      `--log-dir=${join(dir, "logs")}`,
      ...args,
    ]).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    `a server with --database migrates the schema once, names the database without its password, and serves${why}`,
  ignore,
  async fn() {
    const postgres = await sharedPostgres();
    const url = await postgres.createDatabase();
    const { bare, password } = splitPassword(url);
    const dir = await Deno.makeTempDir({ prefix: "dfos-db-" });
    try {
      const passwordFile = join(dir, "db-password");
      await Deno.writeTextFile(passwordFile, `${password}\n`, { mode: 0o600 });
      const flags = [`--database=${bare}`, `--database-password-file=${passwordFile}`];
      {
        await using first = await startServer(flags);
        assert.match(
          first.output(),
          /shared state in PostgreSQL at 127\.0\.0\.1:\d+ \(schema migrated/,
        );
        const added = await dfosCommand(["user", "add", "alice", ...flags], { stdin: "piped" })
          .spawn();
        const writer = added.stdin.getWriter();
        await writer.write(new TextEncoder().encode("alice-secret\n"));
        await writer.close();
        assert.equal((await added.output()).code, 0, "alice is added to the database");
        assert.equal((await runClient(first, ["pwd"])).code, 0);
        assert.ok(!first.output().includes(password), "the password is never printed");
      }
      await using second = await startServer(flags);
      assert.match(second.output(), /shared state in PostgreSQL at 127\.0\.0\.1:\d+\n/);
      assert.doesNotMatch(second.output(), /migrated/, "the schema was up to date");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    `a server whose database cannot be used does not start, and says why without the password${why}`,
  ignore,
  async fn() {
    const postgres = await sharedPostgres();
    const { bare, password } = splitPassword(await postgres.createDatabase());
    const wrong = new URL(bare);
    wrong.password = "not-the-password";
    const refused = await refusedStart([`--database=${wrong.href}`]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /cannot start: .*127\.0\.0\.1:\d+/);
    assert.ok(!refused.stderr.includes("not-the-password") && !refused.stderr.includes(password));
    const away = await refusedStart(["--database=postgres://dfos@127.0.0.1:1/dfos"]);
    assert.equal(away.code, 1, away.stderr);
    assert.match(away.stderr, /cannot start: database unreachable at 127\.0\.0\.1:1/);
    const noFile = await refusedStart([
      `--database=${bare}`,
      "--database-password-file=/nonexistent",
    ]);
    assert.equal(noFile.code, 1, noFile.stderr);
    assert.match(noFile.stderr, /cannot read the database password file \/nonexistent/);
    for (const bad of ["nope", "mysql://h/db", "postgres://hostonly"]) {
      const usage = await refusedStart([`--database=${bad}`]);
      assert.equal(usage.code, 2, `${bad}: ${usage.stderr}`);
      assert.match(usage.stderr, /--database/);
    }
  },
});
