/**
 * HAProxy in TCP mode in front of test backends, from Debian's package, on
 * 127.0.0.1 and a free port, configured from a temporary file. Its runtime
 * socket tells which backends its health checks hold up, so tests wait for
 * a state rather than for a time.
 *
 * @module
 */

import { join } from "node:path";
import { type Daemon, freePort, installed, startDaemon } from "./daemons.ts";
import { waitFor } from "./processes.ts";

/** Why HAProxy tests are ignored here, or undefined when they can run. */
export const HAPROXY_MISSING: string | undefined = await installed("haproxy", ["-v"])
  ? undefined
  : "haproxy is not installed (.ci/run installs it)";

/** One backend the balancer forwards to. */
export interface HaproxyBackend {
  host: string;
  port: number;
  /** Where its health is checked (such as its metrics listener). Default: `port`. */
  checkPort?: number;
}

/** How HAProxy checks that a backend is up. */
export interface HealthCheck {
  /** Between two checks of a backend, ms. Default 200. */
  intervalMs?: number;
  /**
   * Check with `GET PATH` over HTTP (expecting 2xx or 3xx), such as a metrics
   * listener's `/healthz`. Default: none, a TCP connection is the check.
   */
  httpPath?: string;
}

/** Options of {@link startHaproxy}. */
export interface HaproxyOptions {
  backends: HaproxyBackend[];
  /** Default: a TCP check every 200 ms, one failure marks a backend down, one success up. */
  healthCheck?: HealthCheck;
}

/** A running balancer. */
export interface Haproxy extends AsyncDisposable {
  /** The port it listens on, on 127.0.0.1. */
  port: number;
  /** Each backend's state as HAProxy sees it ("UP", "DOWN", …), in the order given. */
  states(): Promise<string[]>;
  /** Resolves once the states are `expected` (within 10 s). */
  waitForStates(expected: string[]): Promise<void>;
  /** Kills HAProxy and removes its folder. */
  stop(): Promise<void>;
}

/** The configuration: one TCP frontend, the backends round-robin with their checks. */
function haproxyConfig(port: number, socket: string, options: HaproxyOptions): string {
  const check = options.healthCheck ?? {};
  const interval = check.intervalMs ?? 200;
  const servers = options.backends.map(({ host, port, checkPort }, index) =>
    `  server node${index} ${host}:${port} check inter ${interval} fall 1 rise 1` +
    (checkPort === undefined ? "" : ` port ${checkPort}`)
  );
  return [
    "global",
    `  stats socket ${socket} mode 600 level admin`,
    "defaults",
    "  mode tcp",
    "  timeout connect 2s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout check 1s",
    "frontend balancer",
    `  bind 127.0.0.1:${port}`,
    "  default_backend nodes",
    "backend nodes",
    "  balance roundrobin",
    ...(check.httpPath === undefined ? [] : [`  option httpchk GET ${check.httpPath}`]),
    ...servers,
    "",
  ].join("\n");
}

/** Sends one command to HAProxy's runtime socket; resolves to the reply. */
async function askSocket(socket: string, command: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    await conn.write(new TextEncoder().encode(`${command}\n`));
    return await new Response(conn.readable).text();
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** The `status` column of `show stat` for the backends' servers, in order. */
async function serverStates(socket: string, count: number): Promise<string[]> {
  const lines = (await askSocket(socket, "show stat")).split("\n");
  const header = lines[0].replace(/^# /, "").split(",");
  const [name, status] = [header.indexOf("svname"), header.indexOf("status")];
  const states = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const fields = line.split(",");
    if (fields[0] === "nodes") states.set(fields[name], fields[status]);
  }
  return Array.from({ length: count }, (_, index) => states.get(`node${index}`) ?? "absent");
}

/**
 * Starts HAProxy forwarding TCP from a free loopback port to `backends`;
 * resolves once its runtime socket answers.
 *
 * @example
 * ```ts
 * await using balancer = await startHaproxy({ backends: [{ host: "127.0.0.1", port: 4000 }] });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: balancer.port });
 * ```
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-haproxy-" });
  const socket = join(dir, "admin.sock");
  const configPath = join(dir, "haproxy.cfg");
  const port = freePort();
  await Deno.writeTextFile(configPath, haproxyConfig(port, socket, options));
  const daemon: Daemon = startDaemon("haproxy", "haproxy", ["-db", "-f", configPath]);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= daemon.kill().then(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  try {
    await waitFor(
      async () => {
        if (daemon.exited()) throw new Error("haproxy exited");
        return await askSocket(socket, "show info").then(() => true, () => false);
      },
      10_000,
      "haproxy to start",
    );
  } catch (error) {
    const output = daemon.output();
    await stop();
    throw new Error(`haproxy did not start: ${error}\n${output}`);
  }
  const count = options.backends.length;
  const states = () => serverStates(socket, count);
  return {
    port,
    states,
    waitForStates: async (expected) => {
      const wanted = expected.join(",");
      await waitFor(
        async () => (await states()).join(",") === wanted,
        10_000,
        `the backends to be ${wanted}`,
      );
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
