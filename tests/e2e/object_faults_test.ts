/**
 * Faults under a server on the object store, end to end (real radosgw,
 * PostgreSQL and CLI on loopback): the database killed during an upload,
 * and the store's gateway stopped during one. Each time the client fails
 * with a clear error that says to try again, every name the database holds
 * points at an object the store has (a HEAD for each), and once the
 * component is back the same node serves again: the re-run completes and
 * the file reads back right.
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
import { postgresMissing, startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import {
  importTestUsers,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import { storeOn } from "../storage/object_store_helpers.ts";

const missing = OBJECT_STORE_MISSING ?? postgresMissing();
const why = missing ? ` (skipped: ${missing})` : "";

/** Three parts of 8 MiB: two whole ones and a short last one. */
const LARGE = 20 * 1024 * 1024 + 4321;
const BUCKET = "dfos-faults";
const PREFIX = "faults";

/** A node on its own database and the store, with a small file and a large one to upload. */
async function setUp(
  store: ObjectStoreServer,
  postgres: TestPostgres,
  dir: string,
  serverFlags: string[] = [],
) {
  await store.createBucket(BUCKET);
  const url = await postgres.createDatabase();
  const credentials = join(dir, "s3-credentials");
  await writeStoreCredentials(store, credentials);
  const flags = [
    `--storage=s3://${BUCKET}/${PREFIX}`,
    `--database=${url}`,
    `--s3-endpoint=${store.endpoint}`,
    `--s3-credentials-file=${credentials}`,
  ];
  await importTestUsers(flags);
  const local = join(dir, "local");
  await Deno.mkdir(local);
  await writeLargeFile(join(local, "large.bin"), LARGE, 3);
  await Deno.writeTextFile(join(local, "small.txt"), "small\n");
  const serverDir = join(dir, "server");
  await Deno.mkdir(serverDir);
  const server = await startServer(
    [...flags, `--state-dir=${serverDir}/server_state`, ...serverFlags],
    serverDir,
  );
  return { url, local, server };
}

/** Every object a name points at, checked with a HEAD; resolves to how many there are. */
async function checkNamedObjects(store: ObjectStoreServer, url: string): Promise<number> {
  const database = Database.open(url);
  try {
    const rows = await database.run((sql) =>
      sql<{ key: string; size: number }[]>`
        SELECT o.key, o.size FROM entries e JOIN objects o ON o.id = e.object_id`
    );
    const objects = storeOn(store, { bucket: BUCKET, prefix: PREFIX });
    for (const row of rows) {
      const head = await objects.head(row.key).catch((error) => error);
      assert.ok(!(head instanceof Error), `${row.key} is named but missing: ${head}`);
    }
    return rows.length;
  } finally {
    await database.close();
  }
}

/** Bytes of completed parts the database holds; 0 while it is unreachable. */
async function partBytes(url: string): Promise<number> {
  const database = Database.open(url);
  try {
    const [row] = await database.run((sql) =>
      sql<{ kept: number }[]>`SELECT coalesce(sum(size), 0) AS kept FROM upload_parts`
    );
    return Number(row.kept);
  } catch {
    return 0;
  } finally {
    await database.close().catch(() => {});
  }
}

/** Starts a slow upload of large.bin; resolves once a part of it is stored and recorded. */
async function uploadUnderWay(server: TestServer, url: string, local: string) {
  const upload = spawnClient(server, ["--limit-rate=6M", "put", "large.bin"], { cwd: local });
  await waitFor(async () => await partBytes(url) > 0, 30_000, "a part of the upload");
  return upload;
}

/** The re-run of the upload completes, and the file reads back right. */
async function reRunCompletes(server: TestServer, local: string) {
  const put = await runClient(server, ["put", "large.bin"], { cwd: local });
  assert.equal(put.code, 0, `the re-run: ${put.stderr}`);
  const get = await runClient(server, ["get", "large.bin", "copy.bin"], { cwd: local });
  assert.equal(get.code, 0, get.stderr);
  assert.equal(
    await sha256File(join(local, "copy.bin")),
    await sha256File(join(local, "large.bin")),
  );
  await Deno.remove(join(local, "copy.bin"));
}

/**
 * The database killed while large.bin uploads, then started again; `sessions`
 * is the node's --max-sessions-per-user.
 */
async function killDatabaseDuringUpload(sessions: number) {
  await using store = await startObjectStore();
  const postgres = await startPostgres();
  const dir = await Deno.makeTempDir({ prefix: "dfos-faults-db-" });
  try {
    const { url, local, server } = await setUp(store, postgres, dir, [
      `--max-sessions-per-user=${sessions}`,
    ]);
    await using _server = server;
    const small = await runClient(server, ["put", "small.txt"], { cwd: local });
    assert.equal(small.code, 0, small.stderr);
    const upload = await uploadUnderWay(server, url, local);
    await postgres.kill();
    assert.equal(await upload.finish(), 1, "the upload failed");
    assert.match(upload.stderr(), /^dfos: put: database unreachable at .*; try again$/m);
    const refused = await runClient(server, ["put", "small.txt", "other.txt"], { cwd: local });
    assert.equal(refused.code, 4, "a login refused as server busy");
    assert.match(
      refused.stderr,
      /server busy: cannot log in now \(database unreachable .*try again\)/,
    );

    await postgres.restart();
    assert.equal(await checkNamedObjects(store, url), 1, "small.txt only");
    await reRunCompletes(server, local);
    assert.equal(await checkNamedObjects(store, url), 2);
  } finally {
    await postgres.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: `the database killed during an upload: a clear error, no name without its object, ` +
    `and service again once it is back, without restarting the node${why}`,
  ignore: missing !== undefined,
  fn: () => killDatabaseDuringUpload(2),
});

Deno.test({
  name: "a session that ended while the database was away frees its slot once it is back",
  // The delete of the ended session's lease failed with the database away; the next login on
  // this node drops it before counting (it was refused "alice already has 1 open session").
  ignore: missing !== undefined,
  fn: () => killDatabaseDuringUpload(1),
});

Deno.test({
  name: `the object store stopped during an upload: a clear error, no name without its object, ` +
    `and service again once it is back, without restarting the node${why}`,
  ignore: missing !== undefined,
  async fn() {
    await using store = await startObjectStore();
    const postgres = await startPostgres();
    const dir = await Deno.makeTempDir({ prefix: "dfos-faults-store-" });
    try {
      const { url, local, server } = await setUp(store, postgres, dir);
      await using _server = server;
      const upload = await uploadUnderWay(server, url, local);
      await store.stopGateway();
      try {
        assert.equal(await upload.finish(), 1, "the upload failed");
        assert.match(
          upload.stderr(),
          /^dfos: put: \/large\.bin: the object store is unreachable .*; try again$/m,
        );
        const small = await runClient(server, ["put", "small.txt"], { cwd: local });
        assert.equal(small.code, 1);
        assert.match(
          small.stderr,
          /^dfos: put: \/small\.txt: the object store is unreachable .*; try again$/m,
        );
      } finally {
        await store.startGateway();
      }
      assert.equal(await checkNamedObjects(store, url), 0, "nothing was named");
      await reRunCompletes(server, local);
      const small = await runClient(server, ["put", "small.txt"], { cwd: local });
      assert.equal(small.code, 0, small.stderr);
      assert.equal(await checkNamedObjects(store, url), 2);
    } finally {
      await postgres.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
