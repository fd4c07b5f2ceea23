/**
 * A real PostgreSQL server for tests: Debian's PostgreSQL 15 run from a
 * temporary data folder, as the `postgres` system user when the tests run as
 * root (PostgreSQL refuses root), listening on 127.0.0.1 only, on a free port,
 * its unix socket in the temporary folder. One server per test file
 * ({@link sharedPostgres}), one database per test ({@link TestPostgres.createDatabase}).
 *
 * The server is started with `pg_ctl start --wait`, which returns once the
 * server accepts connections (or fails after a deadline); it runs detached in
 * a session of its own, so {@link TestPostgres.kill} ends the postmaster and
 * every backend at once, as a crash of the machine's database would.
 *
 * @module
 */

import { join } from "node:path";
import postgres from "postgres";

/** Where Debian's PostgreSQL 15 keeps its programs. */
export const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";
/** The superuser the test server is made with (its password is random per server). */
const SUPERUSER = "dfos_test";
/** The longest a start or a stop may take. */
const DEADLINE_SECONDS = 30;

/** A running test server. */
export interface TestPostgres {
  /** URL of the database made at start (`postgres://user:password@127.0.0.1:port/dfos`). */
  url: string;
  host: string;
  port: number;
  /** The superuser's password (tests check that no error prints it). */
  password: string;
  /** Makes a fresh, empty database and resolves to its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown) and removes its folder. */
  stop(): Promise<void>;
  /** SIGKILL to the server and all its backends; resolves once they are gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same folder and port (after kill or stop without removal). */
  restart(): Promise<void>;
}

/** Why the PostgreSQL tests cannot run here, or undefined if they can. */
export function postgresMissing(): string | undefined {
  try {
    Deno.statSync(join(POSTGRES_BIN, "postgres"));
  } catch {
    return `PostgreSQL 15 is not installed (${POSTGRES_BIN}; apt-get install postgresql)`;
  }
  if (runningAsRoot() && runAsPrefix() === undefined) {
    return "tests run as root but there is no `postgres` user or setpriv to run PostgreSQL as";
  }
  return undefined;
}

/** Whether a real PostgreSQL can be started here (for `ignore:`; {@link postgresMissing} says why not). */
export function postgresAvailable(): boolean {
  return postgresMissing() === undefined;
}

let shared: Promise<TestPostgres> | undefined;

/**
 * The test file's one server, started on first use and stopped when the
 * test process ends (a synchronous stop on `unload`).
 */
export function sharedPostgres(): Promise<TestPostgres> {
  shared ??= startPostgres().then((server) => {
    globalThis.addEventListener("unload", () => stopSync(server));
    return server;
  });
  return shared;
}

/** Starts a server in a new temporary folder and makes the database `dfos` in it. */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-postgres-" });
  const password = crypto.randomUUID().replaceAll("-", "");
  const port = freePort();
  const server = new PostgresProcess(dir, port);
  try {
    await server.init(password);
    await server.start();
    const base = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}`;
    await adminQuery(`${base}/postgres`, "CREATE DATABASE dfos");
    let databases = 0;
    const running: TestPostgres = {
      url: `${base}/dfos`,
      host: "127.0.0.1",
      port,
      password,
      async createDatabase() {
        const name = `test_${++databases}`;
        await adminQuery(`${base}/postgres`, `CREATE DATABASE ${name}`);
        return `${base}/${name}`;
      },
      stop: () => server.stopAndRemove(),
      kill: () => server.kill(),
      restart: () => server.start(),
    };
    processes.set(running, server);
    return running;
  } catch (error) {
    await server.stopAndRemove().catch(() => {});
    throw error;
  }
}

/** The commands around one data folder. */
class PostgresProcess {
  readonly data: string;
  readonly #dir: string;
  readonly #port: number;

  constructor(dir: string, port: number) {
    this.#dir = dir;
    this.#port = port;
    this.data = join(dir, "data");
  }

  async init(password: string): Promise<void> {
    const passwordFile = join(this.#dir, "password");
    await Deno.writeTextFile(passwordFile, password + "\n");
    await handToRunner(this.#dir);
    await run([
      "initdb",
      `--pgdata=${this.data}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${passwordFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    await Deno.remove(passwordFile);
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = [
      "-h 127.0.0.1",
      `-p ${this.#port}`,
      `-k ${this.#dir}`,
      // No fsync: the machine does not crash in tests, the server does (kill), and what it wrote
      // is in the page cache. Commits stay synchronous: a killed server keeps every commit.
      "-c fsync=off -c full_page_writes=off",
      "-c max_connections=60 -c shared_buffers=16MB",
    ].join(" ");
    const log = join(this.#dir, "server.log");
    await run([
      "pg_ctl",
      "start",
      "--wait",
      `--timeout=${DEADLINE_SECONDS}`,
      `--pgdata=${this.data}`,
      `--log=${log}`,
      `--options=${options}`,
    ]).catch(async (error) => {
      const tail = (await Deno.readTextFile(log).catch(() => "")).split("\n").slice(-8).join("\n");
      throw new Error(`${error.message}\nserver log:\n${tail}`);
    });
  }

  /** SIGKILL to the server's session (postmaster and backends), then waits until none is left. */
  async kill(): Promise<void> {
    const pid = this.#postmasterPid();
    if (pid === undefined) return;
    killSession(pid);
    const deadline = Date.now() + DEADLINE_SECONDS * 1000;
    while (sessionMembers(pid).length > 0) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL (session ${pid}) outlived SIGKILL`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Dead but maybe not yet reaped: PostgreSQL would take a zombie's pid for a live server.
    await Deno.remove(join(this.data, "postmaster.pid")).catch(() => {});
    await Deno.remove(join(this.#dir, `.s.PGSQL.${this.#port}.lock`)).catch(() => {});
  }

  async stopAndRemove(): Promise<void> {
    if (this.#postmasterPid() !== undefined) {
      await run(["pg_ctl", "stop", "--wait", "--mode=fast", `--pgdata=${this.data}`])
        .catch(() => this.kill());
    }
    await Deno.remove(this.#dir, { recursive: true });
  }

  stopSync(): void {
    const pid = this.#postmasterPid();
    if (pid !== undefined) {
      killSession(pid);
    }
    try {
      Deno.removeSync(this.#dir, { recursive: true });
    } catch { /* removed by a stop before */ }
  }

  #postmasterPid(): number | undefined {
    try {
      const pid = Number(Deno.readTextFileSync(join(this.data, "postmaster.pid")).split("\n")[0]);
      return sessionMembers(pid).length > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

const processes = new WeakMap<TestPostgres, PostgresProcess>();

function stopSync(server: TestPostgres): void {
  processes.get(server)?.stopSync();
}

/** SIGKILL to the postmaster first (it would restart backends), then to every other member. */
function killSession(sid: number): void {
  for (const pid of [sid, ...sessionMembers(sid).filter((member) => member !== sid)]) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* exited meanwhile */ }
  }
}

/** Live (not zombie) processes whose session id is `sid`, as `ps` lists them. */
function sessionMembers(sid: number): number[] {
  const output = new Deno.Command("ps", {
    args: ["-e", "-o", "pid=,sid=,stat="],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(output.stdout).split("\n").flatMap((line) => {
    const [pid, session, state] = line.trim().split(/\s+/);
    return Number(session) === sid && !state?.startsWith("Z") ? [Number(pid)] : [];
  });
}

/** Whether this process runs as root (`id -u`: `Deno.uid` would need --allow-sys). */
function runningAsRoot(): boolean {
  rootCheck ??= new TextDecoder().decode(
    new Deno.Command("id", { args: ["-u"], stdout: "piped" }).outputSync().stdout,
  ).trim() === "0";
  return rootCheck;
}

let rootCheck: boolean | undefined;

/** `setpriv` arguments that run a program as the `postgres` user, when running as root. */
function runAsPrefix(): string[] | undefined {
  const passwd = Deno.readTextFileSync("/etc/passwd").split("\n");
  const line = passwd.find((entry) => entry.startsWith("postgres:"));
  if (line === undefined) return undefined;
  try {
    Deno.statSync("/usr/bin/setpriv");
  } catch {
    return undefined;
  }
  const [, , uid, gid] = line.split(":");
  return ["/usr/bin/setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--"];
}

/** Gives the server's folder to the user it runs as. */
async function handToRunner(dir: string): Promise<void> {
  const prefix = runningAsRoot() ? runAsPrefix() : undefined;
  if (prefix === undefined) return;
  const uid = Number(prefix[1].split("=")[1]);
  const gid = Number(prefix[2].split("=")[1]);
  await Deno.chown(dir, uid, gid);
  for await (const entry of Deno.readDir(dir)) await Deno.chown(join(dir, entry.name), uid, gid);
}

/** Runs one of PostgreSQL's programs (as `postgres` when root); fails with its output. */
async function run(args: string[]): Promise<void> {
  const [program, ...rest] = args;
  const prefix = runningAsRoot() ? runAsPrefix()! : [];
  const command = [...prefix, join(POSTGRES_BIN, program), ...rest];
  const output = await new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: "/",
    env: { LC_ALL: "C" },
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
    throw new Error(`${program} failed (exit ${output.code}): ${text.trim()}`);
  }
}

async function adminQuery(url: string, query: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(query);
  } finally {
    await sql.end();
  }
}

/** A loopback port nobody listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
