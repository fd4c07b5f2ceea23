/**
 * Two `dfos server` nodes behind one address: both on the same object store
 * (a real radosgw) and PostgreSQL database, serving the same TLS certificate
 * and key, each with its metrics listener for HAProxy's `/healthz` checks,
 * behind a real HAProxy in TCP mode. `sync --watch` clients on different
 * nodes hear of each other's changes within 2 s; an upload through the
 * balancer whose node is killed half way is completed by the re-run on the
 * other node, which sends again only what the store had not kept. The
 * README's node configuration and HAProxy configuration for it are checked
 * to be accepted as they stand.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "smol-toml";
import { serverCommand } from "../../src/cli/server_command.ts";
import { applyConfigFile } from "../../src/cli/server_config_file.ts";
import { Database } from "../../src/database/database.ts";
import { pemToDer } from "../../src/transport/certificate.ts";
import { KnownHosts } from "../../src/transport/known_hosts.ts";
import {
  OBJECT_STORE_MISSING,
  type ObjectStoreServer,
  startObjectStore,
  writeStoreCredentials,
} from "../helpers/ceph.ts";
import { sha256File, writeLargeFile } from "../helpers/files.ts";
import { type Haproxy, HAPROXY_MISSING, startHaproxy } from "../helpers/haproxy.ts";
import { hasOpenssl, newEcKey, openssl } from "../helpers/openssl.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";
import {
  importTestUsers,
  readAudit,
  runClient,
  type ServerAddress,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { startRelay } from "../helpers/relay.ts";
import { keptUploadBytes } from "../storage/object_store_helpers.ts";

const missing = OBJECT_STORE_MISSING ?? postgresMissing() ?? HAPROXY_MISSING ??
  (hasOpenssl ? undefined : "openssl is not installed (it makes the nodes' certificate)");
const why = missing ? ` (skipped: ${missing})` : "";

/** The object store's part size (object_backend.ts). */
const PART = 8 * 1024 * 1024;

/** Four parts: three whole ones and a short last one. */
const LARGE = 3 * PART + 5 * 1024 * 1024 + 4321;

/** How soon a change through one node must reach a watching client of the other, ms. */
const WATCH_BOUND_MS = 2_000;

/** One node: the server and its metrics port (where `/healthz` answers). */
interface Node {
  server: TestServer;
  metricsPort: number;
}

/** Both nodes, the balancer in front, the database, and a known-hosts file trusting the balancer. */
interface Cluster extends AsyncDisposable {
  nodes: [Node, Node];
  balancer: Haproxy;
  database: Database;
  certPath: string;
  knownHosts: string;
}

/** A self-signed certificate for 127.0.0.1 and its key, the one identity of both nodes. */
async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = [join(dir, "node.pem"), join(dir, "node.key")];
  const made = await openssl([
    "req",
    "-x509",
    ...newEcKey(key),
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-addext",
    "basicConstraints=critical,CA:FALSE", // An end entity: a CA's certificate is refused.
  ]);
  assert.equal(made.code, 0, made.output);
  return { cert, key };
}

/** The flags of a node on the store and the database, with the test users imported. */
async function nodeFlags(store: ObjectStoreServer, dir: string): Promise<string[]> {
  await store.createBucket("dfos-nodes");
  const url = await (await sharedPostgres()).createDatabase();
  const credentials = join(dir, "s3-credentials");
  await writeStoreCredentials(store, credentials);
  const flags = [
    "--storage=s3://dfos-nodes/team",
    `--database=${url}`,
    `--s3-endpoint=${store.endpoint}`,
    `--s3-credentials-file=${credentials}`,
  ];
  await importTestUsers(flags);
  return flags;
}

/** Starts a node in a folder of its own under `dir`. */
async function startNode(dir: string, name: string, flags: string[]): Promise<Node> {
  const own = join(dir, name);
  await Deno.mkdir(own);
  const server = await startServer(
    [...flags, `--state-dir=${own}/server_state`, "--metrics=127.0.0.1:0"],
    own,
  );
  const metricsPort = Number(
    server.output().match(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/)?.[1],
  );
  assert.ok(metricsPort > 0, `the metrics address is in the log:\n${server.output()}`);
  return { server, metricsPort };
}

/** Two nodes (with `extra` flags) behind HAProxy, checked on their `/healthz`. */
async function startCluster(store: ObjectStoreServer, dir: string, extra: string[]) {
  const { cert, key } = await makeCertificate(dir);
  const flags = [
    ...await nodeFlags(store, dir),
    `--tls-cert=${cert}`,
    `--tls-key=${key}`,
    ...extra,
  ];
  const database = Database.open(flags.find((flag) => flag.startsWith("--database="))!.slice(11));
  const a = await startNode(dir, "node-a", flags);
  const b = await startNode(dir, "node-b", flags);
  const balancer = await startHaproxy({
    backends: [a, b].map((node) => ({
      host: "127.0.0.1",
      port: node.server.port,
      checkPort: node.metricsPort,
    })),
    healthCheck: { httpPath: "/healthz" },
  });
  await balancer.waitForStates(["UP", "UP"]);
  const knownHosts = join(dir, "known_hosts");
  const der = pemToDer(await Deno.readTextFile(cert));
  await (await KnownHosts.load(knownHosts)).add(`127.0.0.1:${balancer.port}`, der, "127.0.0.1");
  const cluster: Cluster = {
    nodes: [a, b],
    balancer,
    database,
    certPath: cert,
    knownHosts,
    async [Symbol.asyncDispose]() {
      await balancer.stop();
      for (const node of [a, b]) await node.server[Symbol.asyncDispose]();
      await database.close();
    },
  };
  return cluster;
}

Deno.test({
  name:
    `two nodes behind HAProxy: watching clients on either hear of the other's changes, an upload whose node is killed completes on the other${why}`,
  ignore: missing !== undefined,
  async fn(t) {
    await using store = await startObjectStore();
    const dir = await Deno.makeTempDir({ prefix: "dfos-two-nodes-" });
    try {
      await using cluster = await startCluster(store, dir, ["--max-sessions-per-user=2"]);
      await t.step(
        "sync --watch clients on different nodes see each other's changes",
        () => watchAcrossNodes(cluster, dir),
      );
      await t.step(
        "an upload whose node is killed half way completes on the other",
        () => uploadThroughKilledNode(cluster, dir),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Resolves once `path` exists. */
function exists(path: string) {
  return () => Deno.stat(path).then(() => true, () => false);
}

/** Resolves once `node`'s audit log has a successful upload of `path`. */
function uploaded(node: Node, path: string) {
  return async () =>
    (await readAudit(node.server)).some((record) =>
      record.event === "upload" && record.path === path && record.result === "ok"
    );
}

/** A file written beside a client of one node reaches the client of the other within the bound. */
async function crossesOver(from: Node, fromFolder: string, toFolder: string, name: string) {
  await Deno.writeTextFile(join(fromFolder, name), `${name}\n`);
  await waitFor(uploaded(from, `/w/${name}`), 20_000, `${name} on its node`);
  const committed = performance.now();
  await waitFor(exists(join(toFolder, name)), WATCH_BOUND_MS, `${name} at the other node's client`);
  console.log(
    `${name} reached the other node's client in ${Math.round(performance.now() - committed)} ms`,
  );
  assert.equal(await Deno.readTextFile(join(toFolder, name)), `${name}\n`);
}

async function watchAcrossNodes(cluster: Cluster, dir: string) {
  const [a, b] = cluster.nodes;
  const folders = { a: join(dir, "a"), b: join(dir, "b") };
  await Deno.mkdir(folders.a);
  await Deno.mkdir(folders.b);
  await Deno.writeTextFile(join(folders.a, "start.txt"), "start\n");
  const watch = (node: Node, machine: "a" | "b") =>
    spawnClient(node.server, ["sync", "--watch", machine, "/w"], {
      cwd: dir,
      env: { XDG_STATE_HOME: join(dir, `state-${machine}`) },
    });
  const clients = [watch(a, "a"), watch(b, "b")];
  try {
    await waitFor(exists(join(folders.b, "start.txt")), 20_000, "the first run of both");
    await crossesOver(a, folders.a, folders.b, "from-a.txt");
    await crossesOver(b, folders.b, folders.a, "from-b.txt");
  } finally {
    for (const client of clients) {
      try {
        client.child.kill("SIGINT");
      } catch { /* it ended: its exit code and output say why */ }
    }
    for (const client of clients) assert.equal(await client.finish(), 130, client.stderr());
  }
}

async function uploadThroughKilledNode(cluster: Cluster, dir: string) {
  const local = join(dir, "upload");
  await Deno.mkdir(local);
  await writeLargeFile(join(local, "large.bin"), LARGE, 11);
  const expected = await sha256File(join(local, "large.bin"));
  const before = await Promise.all(cluster.nodes.map((node) => loginCount(node)));
  // A relay in front of the balancer counts the bytes each run sends.
  const relay = await startRelay(cluster.balancer.port, cluster.certPath, join(dir, "relay_hosts"));
  try {
    const upload = spawnClient(relay, ["--limit-rate=6M", "put", "large.bin"], { cwd: local });
    const serving = await servingNodeSince(cluster.nodes, before).catch((error) => {
      throw new Error(`${error.message}: ${upload.stderr()}`);
    });
    await waitFor(
      async () => relay.bytes() >= LARGE / 2 && await keptUploadBytes(cluster.database) >= PART,
      60_000,
      "half the file sent and a part stored",
    );
    const sentBeforeKill = relay.bytes();
    await cluster.nodes[serving].server.stop("SIGKILL");
    assert.notEqual(await upload.finish(), 0, "the client lost its node");
    await cluster.balancer.waitForStates(serving === 0 ? ["DOWN", "UP"] : ["UP", "DOWN"]);
    const stored = await keptUploadBytes(cluster.database);
    assert.equal(stored % PART, 0, "whole parts only: the killed node saved no tail");
    assert.ok(
      sentBeforeKill - stored <= PART,
      `at most one part beyond what was stored is sent again (sent ${sentBeforeKill}, stored ${stored})`,
    );
    const relayedBefore = relay.bytes();
    const rerun = await runClient(relay, ["put", "large.bin"], { cwd: local });
    assert.equal(rerun.code, 0, rerun.stderr);
    const other = cluster.nodes[1 - serving];
    const done = (await readAudit(other.server)).filter((record) =>
      record.event === "upload" && record.result === "ok"
    );
    assert.equal(done.at(-1)?.bytes, LARGE - stored, "the re-run resumed from what was stored");
    const rerunBytes = relay.bytes() - relayedBefore;
    console.log(
      `killed after ${sentBeforeKill} bytes relayed, ${stored} stored; the re-run relayed ${rerunBytes} bytes for the ${
        LARGE - stored
      } missing`,
    );
    assert.ok(rerunBytes < LARGE - stored + PART, "the re-run relayed the rest, not the file");
    const balanced: ServerAddress = { port: cluster.balancer.port, knownHosts: cluster.knownHosts };
    const fetched = await runClient(balanced, ["get", "large.bin", "large-copy.bin"], {
      cwd: local,
    });
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(await sha256File(join(local, "large-copy.bin")), expected);
    assert.equal(
      await keptUploadBytes(cluster.database),
      0,
      "nothing of the upload is left unfinished",
    );
  } finally {
    relay.cut();
  }
}

/** How many logins `node`'s audit log holds. */
async function loginCount(node: Node): Promise<number> {
  return (await readAudit(node.server)).filter((record) => record.event === "login").length;
}

/** The node that logged a login since `before` (counts per node), waited for. */
function servingNodeSince(nodes: Node[], before: number[]): Promise<number> {
  return waitFor(
    async () => {
      for (const [index, node] of nodes.entries()) {
        if (await loginCount(node) > before[index]) return index;
      }
      return undefined;
    },
    10_000,
    "the node serving the upload",
  );
}

/** The first fenced block of `language` in the README's "Scaling out" section. */
async function scalingExample(language: string): Promise<string> {
  const text = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = text.slice(text.indexOf("## Scaling out"), text.indexOf("## Security"));
  const match = section.match(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, "m"));
  assert.ok(match, `a ${language} block in the Scaling out section`);
  return match[1];
}

Deno.test("the README's node configuration for scaling out is accepted as it stands", async () => {
  const example = await scalingExample("toml");
  const command = serverCommand(() => {}).action(() => {}).exitOverride().parse([], {
    from: "user",
  });
  applyConfigFile(command, { path: "/etc/dfos/dfos.toml", text: example, values: parse(example) });
  assert.equal(command.getOptionValue("storage"), "s3://dfos-files/team");
  assert.equal(command.getOptionValue("maxSessionsPerUser"), 2);
  assert.equal(command.getOptionValueSource("tlsCert"), "config");
});

Deno.test({
  name:
    `the README's HAProxy configuration for scaling out passes haproxy -c, with its /healthz check${
      HAPROXY_MISSING ? ` (skipped: ${HAPROXY_MISSING})` : ""
    }`,
  ignore: HAPROXY_MISSING !== undefined,
  async fn() {
    const example = await scalingExample("haproxy");
    assert.match(example, /option httpchk GET \/healthz/);
    const dir = await Deno.makeTempDir({ prefix: "dfos-haproxy-readme-" });
    try {
      await Deno.writeTextFile(join(dir, "haproxy.cfg"), example);
      // -c parses and checks only: it binds nothing and sends nothing.
      const checked = await new Deno.Command("haproxy", {
        args: ["-c", "-f", join(dir, "haproxy.cfg")],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const output = new TextDecoder().decode(checked.stdout) +
        new TextDecoder().decode(checked.stderr);
      assert.equal(checked.code, 0, output);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
