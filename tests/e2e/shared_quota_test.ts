/**
 * `--quota` across two nodes on one database and bucket (real radosgw,
 * PostgreSQL and CLI on loopback): an upload under way through one node
 * holds its bytes on the other at once, so a second upload that fits only
 * without it is refused there with QUOTA_EXCEEDED and leaves nothing; once
 * the first is discarded, the space is free on both nodes, and a finished
 * upload counts on both. A node killed (SIGKILL) while holding a
 * reservation holds it only until the reservation expires.
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
import { writeLargeFile } from "../helpers/files.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";
import {
  importTestUsers,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";

const missing = OBJECT_STORE_MISSING ?? postgresMissing();
const why = missing ? ` (skipped: ${missing})` : "";

const MiB = 1024 * 1024;
/** Each upload is 3 MiB: one fits in the 4 MiB quota, two do not. */
const FILE_BYTES = 3 * MiB;

/** What the second upload through the other node is told while the first is under way. */
const REFUSAL =
  /^dfos: put: \/b\.bin: quota exceeded: the upload needs 3\.0 MiB, but only 1\.0 MiB of alice's 4\.0 MiB quota is free\n$/;

/** Two nodes with `--quota=4M` on a fresh database and bucket, the test's database pool, a local folder. */
interface Site extends AsyncDisposable {
  a: TestServer;
  b: TestServer;
  database: Database;
  local: string;
}

async function startSite(store: ObjectStoreServer, bucket: string): Promise<Site> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-quota-" });
  await store.createBucket(bucket);
  const url = await (await sharedPostgres()).createDatabase();
  const credentials = join(dir, "s3-credentials");
  await writeStoreCredentials(store, credentials);
  const flags = [
    `--storage=s3://${bucket}/team`,
    `--database=${url}`,
    `--s3-endpoint=${store.endpoint}`,
    `--s3-credentials-file=${credentials}`,
    "--quota=4M",
    "--max-sessions-per-user=4", // The killed node's session leases hold their slots a while.
  ];
  await importTestUsers(flags);
  const nodes: TestServer[] = [];
  for (const name of ["node-a", "node-b"]) {
    await Deno.mkdir(join(dir, name));
    nodes.push(
      await startServer([...flags, `--state-dir=${dir}/${name}/server_state`], join(dir, name)),
    );
  }
  const local = join(dir, "local");
  await Deno.mkdir(local);
  await writeLargeFile(join(local, "a.bin"), FILE_BYTES, 1);
  await writeLargeFile(join(local, "b.bin"), FILE_BYTES, 2);
  const database = Database.open(url);
  return {
    a: nodes[0],
    b: nodes[1],
    database,
    local,
    async [Symbol.asyncDispose]() {
      await database.close();
      for (const node of nodes) await node[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The reservations in the database: of which node (a lease is per node) and how many bytes. */
async function reservations(database: Database) {
  return await database.run((sql) =>
    sql<{ node: string; bytes: number }[]>`
      SELECT node_id::text AS node, bytes FROM quota_reservations ORDER BY node_id`
  );
}

/** Resolves once the database holds no reservation (an upload's ends just after its reply). */
async function noReservations(database: Database, what: string): Promise<void> {
  await waitFor(async () => (await reservations(database)).length === 0, 10_000, what);
}

/** Paths of the uploads the database records as not finished. */
async function uploadPaths(database: Database): Promise<string[]> {
  const rows = await database.run((sql) =>
    sql<{ path: string }[]>`SELECT path FROM uploads ORDER BY path`
  );
  return rows.map((row) => row.path);
}

/** Starts a slow upload of a.bin through `node`; resolves once its reservation is in the database. */
async function slowUploadHolding(site: Site, node: TestServer) {
  const upload = spawnClient(node, ["--limit-rate=256K", "put", "a.bin"], { cwd: site.local });
  await waitFor(
    async () => (await reservations(site.database)).length === 1,
    20_000,
    "the first upload's reservation",
  );
  return upload;
}

async function put(node: TestServer, site: Site, file: string) {
  return await runClient(node, ["put", file], { cwd: site.local });
}

Deno.test({
  name: `--quota holds across two nodes on one database and bucket${why}`,
  ignore: missing !== undefined,
  async fn(t) {
    await using store = await startObjectStore();

    await t.step(
      "an upload under way on node A holds its bytes on node B; once discarded the space is free on both, and a finished upload counts on both",
      async () => {
        await using site = await startSite(store, "dfos-quota-shared");
        const { a, b, database } = site;
        const first = await slowUploadHolding(site, a);
        assert.deepEqual((await reservations(database)).map((row) => row.bytes), [FILE_BYTES]);

        const second = await put(b, site, "b.bin");
        assert.equal(second.code, 1, second.stderr);
        assert.match(second.stderr, REFUSAL);
        assert.deepEqual(
          await uploadPaths(database),
          ["/a.bin"],
          "the refused upload left nothing",
        );
        assert.equal((await reservations(database)).length, 1, "nor a reservation");

        first.child.kill("SIGINT"); // The user stops it: a partial stays, counted as usage.
        await first.finish();
        await noReservations(database, "the stopped upload's release");
        const discarded = await runClient(b, ["partials", "rm", "--all"]);
        assert.equal(discarded.code, 0, discarded.stderr);
        assert.deepEqual(await uploadPaths(database), []);

        const afterDiscard = await put(b, site, "b.bin");
        assert.equal(afterDiscard.code, 0, `the space is free on B: ${afterDiscard.stderr}`);
        const overFinished = await put(a, site, "a.bin");
        assert.equal(overFinished.code, 1, "B's finished upload counts on A");
        assert.match(
          overFinished.stderr,
          /quota exceeded: the upload needs 3\.0 MiB, but only 1\.0 MiB/,
        );
        assert.equal((await runClient(a, ["rm", "b.bin"])).code, 0);
        const afterRemove = await put(a, site, "a.bin");
        assert.equal(afterRemove.code, 0, `the space is free on A: ${afterRemove.stderr}`);
        await noReservations(database, "every reservation to end");
      },
    );

    await t.step(
      "a node killed with SIGKILL while holding a reservation holds it only until it expires",
      async () => {
        await using site = await startSite(store, "dfos-quota-killed");
        const { a, b, database } = site;
        const upload = await slowUploadHolding(site, a);
        await a.stop("SIGKILL");
        await upload.finish();
        const [held] = await reservations(database);
        assert.equal(held.bytes, FILE_BYTES, "a killed node does not release its reservation");
        const whileHeld = await put(b, site, "b.bin");
        assert.equal(whileHeld.code, 1, whileHeld.stderr);
        assert.match(whileHeld.stderr, REFUSAL);
        // The reservation's lease (30 s) runs out in 1 s: nothing renews it any more.
        await database.run((sql) =>
          sql`UPDATE quota_reservations SET expires_at = clock_timestamp() + interval '1 second'`
        );
        const accepted = await waitFor(
          async () => (await put(b, site, "b.bin")).code === 0,
          20_000,
          "the killed node's reservation to expire",
        );
        assert.ok(accepted);
        await noReservations(database, "the expired reservation and the upload's to be gone");
      },
    );
  },
});
