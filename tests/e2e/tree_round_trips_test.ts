/**
 * `put -r` and `get -r` cost a number of round trips that does not grow
 * with the number of files: counted by a relay that lets the server's
 * replies through only when both ends wait (tests/helpers/burst_relay.ts).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer, type TestServer } from "../helpers/processes.ts";
import { startBurstRelay } from "../helpers/burst_relay.ts";
import { seededBytes, snapshotTree } from "../helpers/files.ts";

const FOLDERS = ["a", "a/deep", "a/deep/er", "b", "c"];

/** A tree of `files` files of 1 KiB spread over the same five folders, whatever `files` is. */
async function writeTree(root: string, files: number): Promise<void> {
  for (const folder of FOLDERS) await Deno.mkdir(join(root, folder), { recursive: true });
  for (let index = 0; index < files; index++) {
    const folder = FOLDERS[index % FOLDERS.length];
    await Deno.writeFile(join(root, folder, `f${index}.txt`), seededBytes(1024, index));
  }
}

/** The round trips `put -r` and then `get -r` of a tree of `files` files take. */
async function roundTrips(server: TestServer, files: number) {
  const local = await Deno.makeTempDir({ prefix: "dfos-rtt-" });
  await writeTree(join(local, "tree"), files);
  const cert = join(server.dir, "server_state", "tls_cert.pem");
  using relay = await startBurstRelay(server.port, cert, server.knownHosts);
  const put = await runClient(relay, ["put", "-r", "tree", `tree${files}`], { cwd: local });
  assert.equal(put.code, 0, put.stderr);
  const up = relay.roundTrips();
  const get = await runClient(relay, ["get", "-r", `tree${files}`, "copy"], { cwd: local });
  assert.equal(get.code, 0, get.stderr);
  const down = relay.roundTrips() - up;
  assert.deepEqual(
    await snapshotTree(join(local, "copy")),
    await snapshotTree(join(local, "tree")),
  );
  await Deno.remove(local, { recursive: true });
  return { up, down };
}

Deno.test("put -r and get -r of 1,000 files take no more round trips than of 100", async () => {
  await using server = await startServer();
  const small = await roundTrips(server, 100);
  const large = await roundTrips(server, 1000);
  console.log(`round trips, 100 files: ${JSON.stringify(small)}; 1,000: ${JSON.stringify(large)}`);
  // One of slack, for a pause of the client longer than the relay's quiet time while it sends.
  assert.ok(large.up <= small.up + 1, `upload: ${small.up} then ${large.up} round trips`);
  assert.ok(large.down <= small.down + 1, `download: ${small.down} then ${large.down} round trips`);
});

Deno.test("connect, log in and ls take three round trips: Auth goes with Hello, List with Stat", async () => {
  await using server = await startServer();
  const cert = join(server.dir, "server_state", "tls_cert.pem");
  using relay = await startBurstRelay(server.port, cert, server.knownHosts);
  const ls = await runClient(relay, ["ls"]);
  assert.equal(ls.code, 0, ls.stderr);
  console.log(`connect, log in and ls: ${relay.roundTrips()} round trips`);
  // TLS 1.3 (one), Hello and Auth (one: Welcome and AuthOk come back together), ls's Stat and List
  // (one: sent together). Before, Auth waited for Welcome and List for Stat: five.
  assert.equal(relay.roundTrips(), 3);
});
