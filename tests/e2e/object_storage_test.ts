/**
 * `dfos server --storage s3://BUCKET/PREFIX --database URL` end to end, on a
 * real radosgw and a real PostgreSQL: put, get, ls, mkdir; a rename of a
 * folder holding files that sends the store no request at all (counted on a
 * relay in front of it) and leaves every object where it was; a large upload
 * (three parts) whose client is killed half way, resumed by a re-run that
 * sends only what the server had not kept, with the SHA-256 right; a sync
 * run; and the refusals of a server that cannot use its store.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Database } from "../../src/database/database.ts";
import {
  OBJECT_STORE_MISSING,
  type ObjectStoreServer,
  startObjectStore,
  writeStoreCredentials,
} from "../helpers/ceph.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";
import {
  dfosCommand,
  FOUND_BEHIND_BACK,
  importTestUsers,
  readAudit,
  runClient,
  serverLogLines,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import { keptUploadBytes, startRecordingRelay } from "../storage/object_store_helpers.ts";

const missing = OBJECT_STORE_MISSING ?? postgresMissing();
const why = missing ? ` (skipped: ${missing})` : "";

/** Three parts of 8 MiB: two whole ones and a short last one. */
const LARGE = 20 * 1024 * 1024 + 12_345;

/** What a server on the store needs: a bucket, a database, a credentials file, a relay. */
async function storeServer(store: ObjectStoreServer, dir: string, bucket: string) {
  await store.createBucket(bucket);
  const url = await (await sharedPostgres()).createDatabase();
  const credentials = join(dir, "s3-credentials");
  await writeStoreCredentials(store, credentials);
  const relay = startRecordingRelay(Number(new URL(store.endpoint).port));
  const flags = [
    `--storage=s3://${bucket}/e2e`,
    `--database=${url}`,
    `--s3-endpoint=${relay.endpoint}`,
    `--s3-credentials-file=${credentials}`,
  ];
  await importTestUsers(flags); // A node with a database takes its users from there.
  return { url, relay, flags };
}

async function client(server: TestServer, args: string[], cwd: string) {
  const result = await runClient(server, args, { cwd });
  assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
  return result;
}

Deno.test({
  name:
    `a server on an object store serves files, renames folders without copying, resumes uploads and syncs${why}`,
  ignore: missing !== undefined,
  async fn() {
    await using store = await startObjectStore();
    const dir = await Deno.makeTempDir({ prefix: "dfos-s3-e2e-" });
    const local = join(dir, "local");
    await Deno.mkdir(local);
    const { url, relay, flags } = await storeServer(store, dir, "dfos-e2e");
    const database = Database.open(url);
    try {
      const serverDir = join(dir, "server");
      await Deno.mkdir(serverDir);
      await using server = await startServer(
        [...flags, `--state-dir=${serverDir}/server_state`],
        serverDir,
      );
      assert.match(server.output(), /storage s3:\/\/dfos-e2e\/e2e/);
      await Deno.writeTextFile(join(local, "a.txt"), "alpha\n");
      await Deno.writeTextFile(join(local, "b.txt"), "bravo\n");
      await client(server, ["mkdir", "docs"], local);
      await client(server, ["put", "a.txt", "docs/a.txt"], local);
      await client(server, ["put", "b.txt", "docs/b.txt"], local);
      const keys = await objectKeys(database);
      assert.equal(keys.length, 2);

      const before = relay.heads().length;
      await client(server, ["mv", "docs", "papers"], local);
      assert.equal(relay.heads().length, before, "the rename sent the store no request");
      assert.deepEqual(await objectKeys(database), keys, "every object stayed where it was");
      const listed = await client(server, ["ls", "papers"], local);
      assert.match(listed.stdout, /a\.txt/);
      assert.match(listed.stdout, /b\.txt/);
      await client(server, ["get", "papers/b.txt", "b-copy.txt"], local);
      assert.equal(await Deno.readTextFile(join(local, "b-copy.txt")), "bravo\n");

      await resumeLargeUpload(server, database, local);
      await syncRun(server, dir);
      assert.equal(
        await serverLogLines(server, FOUND_BEHIND_BACK),
        0,
        "the journal, kept by the metadata's own transactions, agrees with the names",
      );
    } finally {
      await database.close();
      await relay.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The keys of the objects the database names, in order. */
async function objectKeys(database: Database): Promise<string[]> {
  const rows = await database.run((sql) =>
    sql<{ key: string }[]>`SELECT o.key FROM entries e JOIN objects o ON o.id = e.object_id
                           ORDER BY o.key`
  );
  return rows.map((row) => row.key);
}

/** A 3-part upload, its client killed after the first part; the re-run sends only the rest. */
async function resumeLargeUpload(server: TestServer, database: Database, local: string) {
  await writeLargeFile(join(local, "large.bin"), LARGE, 5);
  const expected = await sha256File(join(local, "large.bin"));
  const upload = spawnClient(server, ["--limit-rate=6M", "put", "large.bin"], { cwd: local });
  await waitFor(async () => await keptUploadBytes(database) >= 8 * 1024 * 1024, 30_000, "a part");
  upload.child.kill("SIGKILL");
  await upload.finish();
  // The server ends the session: the upload's unfinished part becomes its tail.
  await waitFor(
    async () => (await readAudit(server)).some((e) => e.event === "upload" && e.result !== "ok"),
    20_000,
    "the interrupted upload in the audit log",
  );
  const kept = await keptUploadBytes(database);
  assert.ok(kept > 8 * 1024 * 1024 && kept < LARGE, `kept ${kept} of ${LARGE} bytes`);
  await client(server, ["put", "large.bin"], local);
  const done = (await readAudit(server)).filter((e) => e.event === "upload" && e.result === "ok");
  assert.equal(done.at(-1)?.bytes, LARGE - kept, "only the bytes not kept were sent again");
  await client(server, ["get", "large.bin", "large-copy.bin"], local);
  assert.equal(await sha256File(join(local, "large-copy.bin")), expected);
  assert.equal(await keptUploadBytes(database), 0, "nothing of the upload is left unfinished");
}

/** Pushes a small tree, pulls it into another folder: the same files. */
async function syncRun(server: TestServer, dir: string) {
  const from = join(dir, "sync-a");
  const to = join(dir, "sync-b");
  await Deno.mkdir(join(from, "sub"), { recursive: true });
  await Deno.mkdir(to);
  await Deno.writeTextFile(join(from, "one.txt"), "one\n");
  await Deno.writeTextFile(join(from, "sub", "two.txt"), "two\n");
  for (const args of [["--push", "sync-a", "/synced"], ["--pull", "sync-b", "/synced"]]) {
    const result = await runClient(server, ["sync", ...args], {
      cwd: dir,
      env: { XDG_STATE_HOME: join(dir, `state-${args[1]}`) },
    });
    assert.equal(result.code, 0, `sync ${args.join(" ")}: ${result.stderr}`);
  }
  assert.equal(await Deno.readTextFile(join(to, "one.txt")), "one\n");
  assert.equal(await Deno.readTextFile(join(to, "sub", "two.txt")), "two\n");
}

Deno.test({
  name:
    `a server on an object store refuses to start without --database, or with a store it cannot use${why}`,
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dfos-s3-refused-" });
    try {
      const alone = await dfosCommand(["server", "--storage=s3://dfos-files/team"]).output();
      assert.equal(alone.code, 2);
      assert.match(new TextDecoder().decode(alone.stderr), /give --database too/);
      const stray = await dfosCommand(["server", `--storage=${dir}`, "--s3-region=eu-west-3"])
        .output();
      assert.equal(stray.code, 2);
      assert.match(
        new TextDecoder().decode(stray.stderr),
        /go with --storage s3:\/\/BUCKET\/PREFIX/,
      );
      const url = await (await sharedPostgres()).createDatabase();
      const credentials = join(dir, "s3-credentials");
      await Deno.writeTextFile(
        credentials,
        "aws_access_key_id = AKID\naws_secret_access_key = hunter2-secret\n",
      );
      const unreachable = await dfosCommand([
        "server",
        "--host=127.0.0.1",
        "--port=0",
        `--log-dir=${join(dir, "logs")}`,
        `--state-dir=${join(dir, "state")}`,
        "--storage=s3://dfos-files/team",
        `--database=${url}`,
        "--s3-endpoint=http://127.0.0.1:9",
        `--s3-credentials-file=${credentials}`,
      ]).output();
      const stderr = new TextDecoder().decode(unreachable.stderr);
      assert.equal(unreachable.code, 1, stderr);
      assert.match(stderr, /127\.0\.0\.1:9/);
      assert.ok(!stderr.includes("hunter2-secret"), "the secret is never printed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
