/**
 * DFOS as a {@link BenchTool}: the real CLI (`deno run <RUNTIME_FLAGS>
 * main.ts`) against a real `dfos server` on 127.0.0.1 with TLS and default
 * settings (fsync on), a fresh server per run so its peak RSS (`VmHWM`) is
 * that run's. Only the limits a concurrent workload needs are raised. For a
 * latency workload the clients connect through a delaying relay in front of
 * that server, which their known-hosts file trusts as the server.
 *
 * @module
 */

import { join } from "node:path";
import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import { pemToDer, SERVER_CERT_NAME } from "../../src/transport/certificate.ts";
import { KnownHosts } from "../../src/transport/known_hosts.ts";
import { DEFAULT_SERVER_CONFIG as DEFAULTS } from "../../src/server/server_config.ts";
import {
  childrenCpuSeconds,
  type CommandLine,
  cpuSeconds,
  cpuSince,
  peakRssBytes,
  runText,
  startBackground,
  timeCommands,
  TimeLimitError,
  waitForOutput,
} from "./processes.ts";
import { startDelayRelay } from "./delay_relay.ts";
import type { BenchTool, Measurement, RunOptions, RunPaths, Unit, Workload } from "./workloads.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The benchmark's user and password, on every server it starts. */
export const USER = "bench";
export const PASSWORD = "bench-password-not-secret";

/** The command that runs dfos exactly like the binary and the tests do. */
export function dfos(args: string[], env: Record<string, string> = {}): CommandLine {
  return {
    program: Deno.execPath(),
    args: ["run", "--quiet", ...RUNTIME_FLAGS, MAIN, ...args],
    env,
  };
}

/**
 * Adds the server whose state folder is `stateDir` to `knownHosts` for
 * 127.0.0.1:`port`, as a user's first accepted connection would: the
 * clients then connect as on every later day, trusting what they remember.
 */
export async function rememberServer(knownHosts: string, port: number, stateDir: string) {
  const certPem = await Deno.readTextFile(join(stateDir, "tls_cert.pem"));
  await (await KnownHosts.load(knownHosts)).add(
    `127.0.0.1:${port}`,
    pemToDer(certPem),
    SERVER_CERT_NAME,
  );
}

/** Adds the benchmark's {@link USER} to `usersFile` with `dfos user add` (a scrypt hash). */
export async function addBenchUser(usersFile: string): Promise<void> {
  await runText(dfos(["user", "add", USER, `--users=${usersFile}`]), `${PASSWORD}\n`);
}

/** Creates the users file and warms Deno's module cache. */
export async function createDfosTool(workDir: string): Promise<BenchTool> {
  const usersFile = join(workDir, "dfos_users.txt");
  await addBenchUser(usersFile);
  const stateDir = join(workDir, "dfos_state");
  await Deno.mkdir(stateDir, { recursive: true });
  return new DfosTool(usersFile, stateDir);
}

/** Flags beyond the defaults, for the server and for each client. */
export interface LimitFlags {
  server: string[];
  client: string[];
}

/**
 * The flags a workload needs beyond the defaults. For the concurrent
 * workload, what a real site with that many clients at once sets too:
 * `--max-clients`, because all clients are to move data at the same time
 * (the default serves 10 at a time and queues the rest), and
 * `--max-sessions-per-user`, because every client logs in as the same user
 * (the default allows one session per user); `--max-unauthenticated` only
 * past its default of 128. The burst of logins needs nothing else: the
 * password checks queue without counting against `--login-timeout`, and the
 * server's progress reports keep the clients' `--timeout` from running out.
 *
 * One flag is for this harness only: `--login-timeout=30`. The clients run
 * on the server's own CPUs, and 100 Deno processes starting together starve
 * each other, so their TLS handshakes took 3–6 s (median) and up to 9–10 s
 * to complete as seen from the server, against the 10 s default: measured,
 * the client side is the slow one (with the clients niced it got worse, not
 * better). Clients on their own machines complete the handshake in
 * milliseconds, so a real site does not need this.
 */
export function limitFlags(workload: Workload): LimitFlags {
  if (!workload.concurrent) return { server: [], client: [] };
  const clients = workload.units.length;
  return {
    server: [
      `--max-clients=${Math.max(DEFAULTS.maxClients, clients)}`,
      `--max-sessions-per-user=${clients}`,
      ...(clients > DEFAULTS.maxUnauthenticated ? [`--max-unauthenticated=${clients}`] : []),
      "--login-timeout=30",
    ],
    client: [],
  };
}

class DfosTool implements BenchTool {
  readonly name = "DFOS";
  readonly relayed = true;
  #usersFile: string;
  #stateDir: string;

  constructor(usersFile: string, stateDir: string) {
    this.#usersFile = usersFile;
    this.#stateDir = stateDir;
  }

  remoteDir(runDir: string): string {
    return join(runDir, "storage", USER);
  }

  async run(workload: Workload, paths: RunPaths, options: RunOptions = {}): Promise<Measurement> {
    const server = startBackground(dfos([
      "server",
      "--host=127.0.0.1",
      "--port=0",
      `--storage=${join(paths.runDir, "storage")}`,
      `--users=${this.#usersFile}`,
      `--log-dir=${join(paths.runDir, "logs")}`,
      `--state-dir=${this.#stateDir}`,
      ...limitFlags(workload).server,
    ]));
    try {
      const serverPort = Number(
        await waitForOutput(server, /listening on .*:(\d+)/, 30_000, "the DFOS server listened"),
      );
      await using relay = workload.rttMs === undefined
        ? undefined
        : startDelayRelay(serverPort, { rttMs: workload.rttMs });
      const port = relay?.port ?? serverPort;
      const knownHosts = join(paths.runDir, "known_hosts");
      await rememberServer(knownHosts, port, this.#stateDir);
      const clients = workload.units.map((unit) =>
        this.#client(port, knownHosts, [
          ...limitFlags(workload).client,
          ...transferArgs(workload, unit, paths),
        ])
      );
      const serverCpuBefore = await cpuSeconds(server.pid);
      const cpuBefore = await childrenCpuSeconds();
      const seconds = await timeCommands(clients, options);
      return {
        seconds,
        clientCpuSeconds: await childrenCpuSeconds() - cpuBefore,
        serverPeakRssBytes: await peakRssBytes(server.pid),
        serverCpuSeconds: await cpuSince(server.pid, serverCpuBefore),
      };
    } catch (error) {
      if (error instanceof TimeLimitError) throw error;
      const log = server.output().trim().split("\n").slice(-5).join("\n");
      throw new Error(`${error instanceof Error ? error.message : error}\nserver said:\n${log}`);
    } finally {
      await server.stop();
    }
  }

  #client(port: number, knownHosts: string, args: string[]): CommandLine {
    return benchClient(port, knownHosts, args);
  }
}

/** `dfos client ARGS` as the benchmark's user, on 127.0.0.1:`port`, trusting through `knownHosts`. */
export function benchClient(port: number, knownHosts: string, args: string[]): CommandLine {
  return dfos([
    "client",
    "--host=127.0.0.1",
    `--port=${port}`,
    `--user=${USER}`,
    `--known-hosts=${knownHosts}`,
    "--quiet",
    ...args,
  ], { DFOS_PASSWORD: PASSWORD });
}

/** `put [-r] LOCAL NAME` or `get [-r] NAME LOCAL` for one unit. */
function transferArgs(workload: Workload, unit: Unit, paths: RunPaths): string[] {
  const recursive = unit.kind === "tree" ? ["-r"] : [];
  return workload.direction === "upload"
    ? ["put", ...recursive, join(paths.dataDir, unit.name), unit.name]
    : ["get", ...recursive, unit.name, join(paths.localDir, unit.name)];
}
