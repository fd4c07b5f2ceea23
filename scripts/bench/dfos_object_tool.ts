/**
 * DFOS on the object-store backend as a {@link BenchTool}: the same CLI and
 * server as dfos_tool.ts, but `dfos server --storage s3://BUCKET/bench
 * --database URL` on a real radosgw (memstore, one OSD) and PostgreSQL that
 * the benchmark starts on loopback the way the tests do (tests/helpers/).
 * Each run has a fresh bucket, database and server, so the server's peak RSS
 * is that run's. The files the harness checks live in the store, not in a
 * folder: a download is staged by an untimed `put` through a server of its
 * own; an upload is fetched back afterwards (untimed) into the run's remote
 * folder, where the harness checks it by SHA-256.
 *
 * @module
 */

import { join } from "node:path";
import { startObjectStore, writeStoreCredentials } from "../../tests/helpers/ceph.ts";
import { startPostgres, type TestPostgres } from "../../tests/helpers/postgres.ts";
import { addBenchUser, benchClient, dfos, limitFlags, rememberServer } from "./dfos_tool.ts";
import {
  type BackgroundProcess,
  childrenCpuSeconds,
  cpuSeconds,
  cpuSince,
  peakRssBytes,
  runText,
  startBackground,
  timeCommands,
  TimeLimitError,
  waitForOutput,
} from "./processes.ts";
import type {
  BenchTool,
  Measurement,
  RunOptions,
  RunPaths,
  Unit,
  Workload,
  WorkloadId,
} from "./workloads.ts";

/** The tool's name in the tables. */
export const OBJECT_STORE_DFOS = "DFOS (object store)";

/** The workloads it runs: the large file and the small files, up and down. */
export const OBJECT_STORE_WORKLOADS: readonly WorkloadId[] = ["A", "B", "C", "D"];

/**
 * The one OSD's capacity (the tests' is 512 MiB): the benchmark deletes
 * nothing, so every run of A and B leaves its large file in the store, and a
 * full OSD stalls every request (with three runs each of 1 GiB, creating the
 * fourth run's bucket timed out). Room for three runs of each; the memory is
 * taken only as objects are written.
 */
function memstoreBytes(sizeMib: number): number {
  return Math.max(7 * sizeMib * 2 ** 20 + 2 ** 30, 2 ** 31);
}

/**
 * Starts radosgw and PostgreSQL (stopped by `cleanup`) and creates the
 * users file; rejects with why when they cannot run here.
 */
export async function createObjectStoreDfosTool(
  workDir: string,
  sizeMib: number,
  cleanup: AsyncDisposableStack,
): Promise<BenchTool> {
  // Every Ceph program reads CEPH_ARGS: the OSD keeps the large file in memory.
  Deno.env.set("CEPH_ARGS", `--memstore_device_bytes=${memstoreBytes(sizeMib)}`);
  const store = cleanup.use(await startObjectStore());
  const postgres = await startPostgres();
  cleanup.defer(() => postgres.stop());
  const usersFile = join(workDir, "dfos_s3_users.txt");
  await addBenchUser(usersFile);
  const credentials = join(workDir, "s3-credentials");
  await writeStoreCredentials(store, credentials);
  const stateDir = join(workDir, "dfos_s3_state");
  await Deno.mkdir(stateDir, { recursive: true });
  return new ObjectStoreDfosTool({ store, postgres, usersFile, credentials, stateDir });
}

interface Setup {
  store: Awaited<ReturnType<typeof startObjectStore>>;
  postgres: TestPostgres;
  usersFile: string;
  credentials: string;
  stateDir: string;
}

class ObjectStoreDfosTool implements BenchTool {
  readonly name = OBJECT_STORE_DFOS;
  readonly relayed = false;
  readonly #setup: Setup;
  #buckets = 0;

  constructor(setup: Setup) {
    this.#setup = setup;
  }

  remoteDir(runDir: string): string {
    return join(runDir, "fetched");
  }

  async run(workload: Workload, paths: RunPaths, options: RunOptions = {}): Promise<Measurement> {
    const flags = await this.#newStorage(paths.runDir);
    const serverFlags = [...flags, ...limitFlags(workload).server];
    if (workload.direction === "download") {
      await this.#withServer(serverFlags, paths, (port, knownHosts) =>
        timeCommands(
          workload.units.map((unit) => this.#client(port, knownHosts, put(unit, paths.dataDir))),
        ));
    }
    const measurement = await this.#withServer(
      serverFlags,
      paths,
      async (port, knownHosts, server) => {
        const clients = workload.units.map((unit) =>
          this.#client(port, knownHosts, transferArgs(workload, unit, paths))
        );
        const serverCpuBefore = await cpuSeconds(server.pid);
        const cpuBefore = await childrenCpuSeconds();
        const seconds = await timeCommands(clients, options);
        const measured: Measurement = {
          seconds,
          clientCpuSeconds: await childrenCpuSeconds() - cpuBefore,
          serverPeakRssBytes: await peakRssBytes(server.pid),
          serverCpuSeconds: await cpuSince(server.pid, serverCpuBefore),
        };
        if (workload.direction === "upload") {
          await timeCommands(
            workload.units.map((unit) =>
              this.#client(port, knownHosts, get(unit, paths.remoteDir))
            ),
          );
        }
        return measured;
      },
    );
    return measurement;
  }

  /** A fresh bucket and database, with the bench user imported; the server's storage flags. */
  async #newStorage(runDir: string): Promise<string[]> {
    const { store, postgres, usersFile, credentials } = this.#setup;
    const bucket = `dfos-bench-${++this.#buckets}`;
    await store.createBucket(bucket);
    const database = `--database=${await postgres.createDatabase()}`;
    await runText(dfos(["user", "import", `--users=${usersFile}`, database]));
    return [
      `--storage=s3://${bucket}/bench`,
      database,
      `--s3-endpoint=${store.endpoint}`,
      `--s3-credentials-file=${credentials}`,
      `--log-dir=${join(runDir, "logs")}`,
    ];
  }

  async #withServer<T>(
    flags: string[],
    paths: RunPaths,
    use: (port: number, knownHosts: string, server: BackgroundProcess) => Promise<T>,
  ): Promise<T> {
    const server = startBackground(dfos([
      "server",
      "--host=127.0.0.1",
      "--port=0",
      `--state-dir=${this.#setup.stateDir}`,
      ...flags,
    ]));
    try {
      const port = Number(
        await waitForOutput(server, /listening on .*:(\d+)/, 60_000, "the DFOS server listened"),
      );
      const knownHosts = join(paths.runDir, "known_hosts");
      await rememberServer(knownHosts, port, this.#setup.stateDir);
      return await use(port, knownHosts, server);
    } catch (error) {
      if (error instanceof TimeLimitError) throw error;
      const log = server.output().trim().split("\n").slice(-5).join("\n");
      throw new Error(`${error instanceof Error ? error.message : error}\nserver said:\n${log}`);
    } finally {
      await server.stop();
    }
  }

  #client(port: number, knownHosts: string, args: string[]) {
    return benchClient(port, knownHosts, args);
  }
}

function recursive(unit: Unit): string[] {
  return unit.kind === "tree" ? ["-r"] : [];
}

function put(unit: Unit, from: string): string[] {
  return ["put", ...recursive(unit), join(from, unit.name), unit.name];
}

function get(unit: Unit, to: string): string[] {
  return ["get", ...recursive(unit), unit.name, join(to, unit.name)];
}

function transferArgs(workload: Workload, unit: Unit, paths: RunPaths): string[] {
  return workload.direction === "upload" ? put(unit, paths.dataDir) : get(unit, paths.localDir);
}
