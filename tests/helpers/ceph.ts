/**
 * A real S3 gateway for tests: Ceph's radosgw on a one-node cluster (one
 * ceph-mon, one ceph-osd keeping objects in memory, no manager daemon,
 * authentication off), all from Debian's packages, in a temporary folder and
 * on 127.0.0.1 only. It starts in about two seconds; start one per test file
 * and give each test its own bucket.
 *
 * Tests that need it are ignored where the packages are missing
 * ({@link objectStoreAvailable}); `.ci/run` installs them.
 *
 * @module
 */

import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { type Daemon, freePort, installed, runProgram, startDaemon } from "./daemons.ts";
import { waitFor } from "./processes.ts";

/** Why object-store tests are ignored here, or undefined when they can run. */
export const OBJECT_STORE_MISSING: string | undefined = (await Promise.all(
    ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph"]
      .map((program) => installed(program)),
  )).every(Boolean)
  ? undefined
  : "Ceph's radosgw, ceph-mon and ceph-osd are not installed (.ci/run installs them)";

/** Whether the Ceph programs the gateway needs are installed. */
export function objectStoreAvailable(): boolean {
  return OBJECT_STORE_MISSING === undefined;
}

/** A running gateway: where it listens and the S3 user's keys. */
export interface ObjectStoreServer extends AsyncDisposable {
  /** "http://127.0.0.1:PORT". */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stops the gateway alone, cleanly (the cluster keeps its objects); requests to `endpoint` are refused. */
  stopGateway(): Promise<void>;
  /** Starts the gateway again on the same port; resolves once it answers. */
  startGateway(): Promise<void>;
  /** Freezes the gateway (SIGSTOP): connections are accepted, never answered. */
  pauseGateway(): void;
  /** Lets a frozen gateway run again (SIGCONT). */
  resumeGateway(): void;
  /** Creates the bucket `name` as the S3 user. */
  createBucket(name: string): Promise<void>;
  /** Kills every daemon and removes the folder. */
  stop(): Promise<void>;
}

/** The S3 user every gateway has. */
const ACCESS_KEY_ID = "DFOSTESTACCESSKEY";
const SECRET_ACCESS_KEY = "dfos-test-secret-access-key";
const REGION = "us-east-1";

/** The pools radosgw uses, created before it starts (each pool it creates itself stalls it). */
const GATEWAY_POOLS = [
  ".rgw.root",
  "default.rgw.log",
  "default.rgw.control",
  "default.rgw.meta",
  "default.rgw.buckets.index",
  "default.rgw.buckets.data",
  "default.rgw.buckets.non-ec",
];

/** How long the cluster may take to start, and each Ceph command to run. */
const START_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 30_000;

/** The cluster's configuration: loopback only, no authentication, everything in `dir`. */
function cephConfig(dir: string, fsid: string, monPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
paxos propose interval = 0.01
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
pid file = ${dir}/run/$name.pid
crash dir = ${dir}/crash
mon cluster log to file = false
mon cluster log file = ${dir}/log/$cluster.$channel.log
[mon]
mon data = ${dir}/mon/$id
[osd]
osd data = ${dir}/osd/$id
osd objectstore = memstore
memstore device bytes = 536870912
`;
}

/** A cluster being started: its folder, configuration and daemons. */
class Cluster {
  readonly daemons: Daemon[] = [];
  readonly config: string;
  constructor(readonly dir: string) {
    this.config = join(dir, "ceph.conf");
  }

  /** Runs a Ceph program against this cluster. */
  run(program: string, args: string[], stdin?: string): Promise<string> {
    return runProgram(program, ["-c", this.config, ...args], {
      stdin,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
  }

  start(name: string, program: string, args: string[]): Daemon {
    const daemon = startDaemon(name, program, ["-f", "-c", this.config, ...args]);
    this.daemons.push(daemon);
    return daemon;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.daemons.map((daemon) => daemon.kill()));
  }

  /** What the daemons printed, for an error message. */
  outputs(): string {
    return this.daemons.map((daemon) => `--- ${daemon.name}\n${daemon.output()}`).join("\n");
  }
}

/** Creates the monitor and the OSD and starts both. */
async function startRados(cluster: Cluster): Promise<void> {
  const { dir } = cluster;
  const fsid = crypto.randomUUID();
  const osdUuid = crypto.randomUUID();
  const monPort = freePort();
  for (const folder of ["mon", "osd/0", "run", "log"]) {
    await Deno.mkdir(join(dir, folder), { recursive: true });
  }
  await Deno.writeTextFile(cluster.config, cephConfig(dir, fsid, monPort));
  const monmap = join(dir, "monmap");
  await runProgram("monmaptool", [
    "--create",
    "--fsid",
    fsid,
    "--addv",
    "a",
    `[v2:127.0.0.1:${monPort}]`,
    monmap,
  ]);
  await cluster.run("ceph-mon", ["--mkfs", "-i", "a", "--monmap", monmap]);
  cluster.start("ceph-mon", "ceph-mon", ["-i", "a"]);
  await cluster.run("ceph", ["--connect-timeout", "20", "osd", "new", osdUuid]);
  await cluster.run("ceph-osd", ["-i", "0", "--mkfs", "--osd-uuid", osdUuid]);
  cluster.start("ceph-osd", "ceph-osd", ["-i", "0"]);
  const commands = GATEWAY_POOLS.flatMap((pool) => [
    `osd pool create ${pool}`,
    `osd pool application enable ${pool} rgw`,
  ]);
  await cluster.run("ceph", ["--connect-timeout", "20"], commands.join("\n") + "\n");
}

/**
 * Starts radosgw on `port`; resolves once it answers HTTP. Its beast
 * frontend keeps Nagle's algorithm on unless told otherwise: it writes a
 * reply's headers and body apart, and the body then waits for the client's
 * delayed ACK of the headers, about 40 ms on every GET of a reused connection.
 */
async function startGateway(cluster: Cluster, port: number): Promise<Daemon> {
  const gateway = cluster.start("radosgw", "radosgw", [
    "-n",
    "client.rgw",
    `--rgw-frontends=beast endpoint=127.0.0.1:${port} tcp_nodelay=1`,
  ]);
  await waitFor(
    async () => {
      if (gateway.exited()) throw new Error("radosgw exited");
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      await response?.body?.cancel();
      return response?.ok;
    },
    START_TIMEOUT_MS,
    "radosgw to answer",
  );
  return gateway;
}

/** Creates a bucket through the gateway at `endpoint` with the test user's keys. */
async function createBucket(endpoint: string, name: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    // The default one reads the OS release, which tests have no permission for.
    defaultUserAgentProvider: () => Promise.resolve([["dfos-test"]]),
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }), {
      abortSignal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
    });
  } finally {
    client.destroy();
  }
}

/**
 * Starts a one-node Ceph cluster with its S3 gateway and an S3 user; stop it
 * with `stop()` (or `await using`). Throws, having stopped whatever started,
 * if any step fails or the gateway does not answer within a minute.
 *
 * @example
 * ```ts
 * await using store = await startObjectStore();
 * const client = new S3Client({ endpoint: store.endpoint, region: store.region, ... });
 * ```
 */
export async function startObjectStore(): Promise<ObjectStoreServer> {
  const cluster = new Cluster(await Deno.makeTempDir({ prefix: "dfos-ceph-" }));
  const port = freePort();
  let gateway: Daemon;
  try {
    await startRados(cluster);
    gateway = await startGateway(cluster, port);
    await cluster.run("radosgw-admin", [
      "user",
      "create",
      "--uid=dfos-test",
      "--display-name=dfos-test",
      `--access-key=${ACCESS_KEY_ID}`,
      `--secret-key=${SECRET_ACCESS_KEY}`,
    ]);
  } catch (error) {
    const outputs = cluster.outputs();
    await cluster.killAll();
    await Deno.remove(cluster.dir, { recursive: true }).catch(() => {});
    throw new Error(`the Ceph object store did not start: ${error}\n${outputs}`);
  }
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= cluster.killAll().then(() => Deno.remove(cluster.dir, { recursive: true }));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    // A clean stop: a killed gateway's watches on the cluster linger for 30 s, and
    // creating a bucket waits for them.
    stopGateway: () => gateway.terminate(COMMAND_TIMEOUT_MS),
    pauseGateway: () => gateway.child.kill("SIGSTOP"),
    resumeGateway: () => gateway.child.kill("SIGCONT"),
    createBucket: (name) => createBucket(`http://127.0.0.1:${port}`, name),
    startGateway: async () => {
      gateway = await startGateway(cluster, port);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Writes the gateway's S3 keys to `path` (mode 0600) as `--s3-credentials-file` reads them. */
export async function writeStoreCredentials(
  store: Pick<ObjectStoreServer, "accessKeyId" | "secretAccessKey">,
  path: string,
): Promise<void> {
  await Deno.writeTextFile(
    path,
    `[default]\naws_access_key_id = ${store.accessKeyId}\n` +
      `aws_secret_access_key = ${store.secretAccessKey}\n`,
    { mode: 0o600 },
  );
}
