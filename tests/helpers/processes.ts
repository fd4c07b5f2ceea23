/**
 * Runs the real `dfos` program for end-to-end tests: `main.ts` with the very
 * permission flags the binary is compiled with, a server on 127.0.0.1 with a
 * free port, temp folders for storage, users and logs.
 *
 * @module
 */

import { join } from "node:path";
import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import { ClientConnection, type ConnectOptions } from "../../src/client/connection.ts";
import { pemToDer, SERVER_CERT_NAME } from "../../src/transport/certificate.ts";
import { KnownHosts } from "../../src/transport/known_hosts.ts";
import { certificateNames } from "../../src/transport/certificate.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Demo users every test server knows. */
export const USERS = {
  alice: "alice-secret",
  bob: "bob-secret",
  carol: "carol-secret",
} as const;
export type UserName = keyof typeof USERS;

/** The command that runs dfos like the binary does. */
export function dfosCommand(args: string[], options: Deno.CommandOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUNTIME_FLAGS, MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...options,
  });
}

/** A running test server. Dispose it (`await using`) to stop it and remove its folders. */
export interface TestServer extends AsyncDisposable {
  port: number;
  pid: number;
  dir: string;
  storageDir: string;
  logDir: string;
  /** A known-hosts file that trusts this server (empty when it runs without TLS). */
  knownHosts: string;
  /** "SHA256:<hex>" the server printed, or undefined without TLS. */
  fingerprint: string | undefined;
  /** The extra flags it was started with. */
  args: string[];
  child: Deno.ChildProcess;
  /** Everything the server printed on stderr so far. */
  output(): string;
  /** Sends `signal` and waits for the exit code (SIGKILL after `timeoutMs`). */
  stop(signal?: Deno.Signal, timeoutMs?: number): Promise<number>;
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Soft open-file limit (`ulimit -n`) the server runs under; default: the test's own. */
  openFileLimit?: number;
  /** A network namespace of the test's own to run it in (`ip netns exec`); default: here. */
  namespace?: string;
  /** File mode creation mask (`umask`) the server runs under; default: the test's own. */
  umask?: number;
}

/**
 * Puts the test users into the database the `--database` flags in `flags`
 * name (`dfos user import`, users already there kept): a server given
 * `--database` takes its users from there, not from its users file.
 */
export async function importTestUsers(flags: string[]): Promise<void> {
  const database = flags.filter((arg) => /^--database(-password-file)?=/.test(arg));
  const dir = await Deno.makeTempDir({ prefix: "dfos-users-" });
  try {
    const usersFile = join(dir, "users.txt");
    await Deno.writeTextFile(
      usersFile,
      Object.entries(USERS).map(([name, password]) => `${name}:${password}`).join("\n") + "\n",
    );
    const result = await dfosCommand(["user", "import", `--users=${usersFile}`, ...database])
      .output();
    if (!result.success) {
      throw new Error(
        `importing the test users failed: ${new TextDecoder().decode(result.stderr)}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Starts `dfos server` on a free loopback port with the demo users; extra flags in `args`. */
export async function startServer(
  args: string[] = [],
  dir?: string,
  options: StartServerOptions = {},
): Promise<TestServer> {
  const ownDir = dir === undefined; // Removed again if the server does not start.
  dir ??= await Deno.makeTempDir({ prefix: "dfos-test-" });
  const usersFile = join(dir, "users.txt");
  await Deno.writeTextFile(
    usersFile,
    Object.entries(USERS).map(([name, password]) => `${name}:${password}`).join("\n") + "\n",
  );
  const storageDir = join(dir, "storage");
  const logDir = join(dir, "logs");
  const serverArgs = [
    "server",
    "--host=127.0.0.1",
    "--port=0",
    `--storage=${storageDir}`,
    `--users=${usersFile}`,
    `--log-dir=${logDir}`,
    ...args,
  ];
  const child = serverCommand(serverArgs, options).spawn();
  const log = collectText(child.stderr);
  let exited = false;
  child.status.then(() => exited = true);
  const port = await waitFor(
    () => exited || log.text().match(/listening on .*:(\d+)/)?.[1],
    20_000,
    "the server to listen",
  ).then((found) => typeof found === "string" ? found : Promise.reject(new Error("it exited")))
    .catch(async (error) => {
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await log.done;
      if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`server did not start: ${error.message}\n${log.text()}`);
    });
  const fingerprint = log.text().match(/fingerprint "?(SHA256:[0-9a-f]{64})/)?.[1];
  const knownHosts = join(dir, "known_hosts");
  if (fingerprint) {
    const certPem = await Deno.readTextFile(certificatePath(dir, args));
    const der = pemToDer(certPem);
    const name = certificateNames(der)[0] ?? "127.0.0.1";
    await (await KnownHosts.load(knownHosts)).add(`127.0.0.1:${port}`, der, name);
  }
  let exit: Promise<number> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM", timeoutMs = 20_000) => {
    exit ??= (async () => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const status = await child.status;
      clearTimeout(timer);
      await log.done;
      return status.code;
    })();
    return exit;
  };
  return {
    port: Number(port),
    pid: child.pid,
    dir,
    storageDir,
    logDir,
    knownHosts,
    fingerprint,
    args,
    child,
    output: log.text,
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
      await Deno.remove(dir!, { recursive: true }).catch(() => {});
    },
  };
}

function serverCommand(args: string[], options: StartServerOptions): Deno.Command {
  if (options.namespace !== undefined) {
    return new Deno.Command("ip", {
      args: ["netns", "exec", options.namespace, Deno.execPath(), "run", "--quiet"]
        .concat(RUNTIME_FLAGS, MAIN, args),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
  }
  return options.openFileLimit === undefined && options.umask === undefined
    ? dfosCommand(args, { stdout: "null" })
    : inShell(options, args);
}

/** `dfos ARGS` run by bash under `ulimit -n` and `umask` as `options` say (exec'd: the pid is the server's). */
function inShell(options: StartServerOptions, args: string[]): Deno.Command {
  const setup = [
    options.openFileLimit === undefined ? [] : [`ulimit -n ${options.openFileLimit}`],
    options.umask === undefined ? [] : [`umask ${options.umask.toString(8).padStart(3, "0")}`],
  ].flat();
  return new Deno.Command("bash", {
    args: [
      "-c",
      `${setup.join(" && ")} && exec "$@"`,
      "bash",
      Deno.execPath(),
      "run",
      "--quiet",
      ...RUNTIME_FLAGS,
      MAIN,
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
}

/** Where a test server's certificate is: the --tls-cert given, else its state folder. */
function certificatePath(dir: string, args: string[]): string {
  const given = args.find((arg) => arg.startsWith("--tls-cert="));
  return given ? given.slice("--tls-cert=".length) : join(dir, "server_state", "tls_cert.pem");
}

/** What a finished client run printed and returned. */
export interface ClientResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Options of {@link runClient} and {@link spawnClient}. */
export interface ClientOptions {
  user?: UserName | string;
  password?: string;
  /** Text written to the client's stdin (then closed). */
  stdin?: string;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** What a client needs to know of a server: its port, and how to trust it. */
export interface ServerAddress {
  port: number;
  knownHosts?: string;
}

function clientCommand(
  server: ServerAddress,
  args: string[],
  options: ClientOptions,
  stdin: "piped" | "null",
) {
  const user = options.user ?? "alice";
  const password = options.password ?? USERS[user as UserName] ?? "";
  const trust = server.knownHosts ? [`--known-hosts=${server.knownHosts}`] : [];
  return dfosCommand(
    ["client", "--host=127.0.0.1", `--port=${server.port}`, `--user=${user}`, "--quiet", ...trust]
      .concat(args),
    {
      stdin,
      cwd: options.cwd,
      env: { DFOS_PASSWORD: password, ...options.env },
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    },
  );
}

/** Runs `dfos client … ARGS` to completion. */
export async function runClient(
  server: ServerAddress,
  args: string[],
  options: ClientOptions = {},
): Promise<ClientResult> {
  const child = clientCommand(server, args, options, options.stdin === undefined ? "null" : "piped")
    .spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
    stdoutBytes: stdout,
  };
}

/** A client left running with stdin open: an interactive shell fed by the test. */
export interface ShellClient {
  child: Deno.ChildProcess;
  /** Writes one line to the shell. */
  send(line: string): Promise<void>;
  stdout(): string;
  stderr(): string;
  /** Closes stdin and waits for the exit code. */
  finish(): Promise<number>;
}

/** Starts `dfos client …` with stdin kept open. */
export function spawnClient(
  server: ServerAddress,
  args: string[],
  options: ClientOptions = {},
): ShellClient {
  const child = clientCommand(server, args, options, "piped").spawn();
  const writer = child.stdin.getWriter();
  const out = collectText(child.stdout);
  const err = collectText(child.stderr);
  return {
    child,
    send: (line) => writer.write(new TextEncoder().encode(`${line}\n`)),
    stdout: out.text,
    stderr: err.text,
    async finish() {
      await writer.close().catch(() => {});
      const status = await child.status;
      await Promise.all([out.done, err.done]);
      return status.code;
    },
  };
}

/** Accumulates a stream's text in the background. */
export function collectText(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })().catch(() => {});
  return { text: () => text, done };
}

/** Polls `probe` every 20 ms until it returns a value other than undefined/false. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The real client's connection to a test server, logged in as `user` (alice
 * by default) and trusting it through its known-hosts file; `options` adds
 * to or overrides those settings.
 */
export function openClient(
  server: TestServer,
  options: Partial<ConnectOptions> = {},
): Promise<ClientConnection> {
  const user = (options.user ?? "alice") as UserName;
  return ClientConnection.open({
    host: "127.0.0.1",
    port: server.port,
    user,
    password: USERS[user],
    trust: { kind: "pinned", knownHostsPath: server.knownHosts },
    ...options,
  });
}

/**
 * A raw connection to a test server, TLS-pinned to its certificate (plain TCP
 * if it runs without TLS), for tests that speak the protocol by hand.
 */
export async function connectRaw(server: TestServer): Promise<Deno.Conn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  if (!server.fingerprint) return tcp;
  const certPem = await Deno.readTextFile(certificatePath(server.dir, server.args));
  return await Deno.startTls(tcp, { hostname: SERVER_CERT_NAME, caCerts: [certPem] });
}

/** `promise`, or a rejection after `ms`: no test waits unbounded on a peer. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** The audit records a server has written so far (complete lines only). */
export async function readAudit(server: { logDir: string }): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(join(server.logDir, "audit.log")).catch(() => "");
  return text.split("\n").filter((line) => line.endsWith("}"))
    .map((line) => JSON.parse(line).properties);
}

/** How many lines of the server log (server.log) so far contain `text`. */
export async function serverLogLines(server: { logDir: string }, text: string): Promise<number> {
  const log = await Deno.readTextFile(join(server.logDir, "server.log")).catch(() => "");
  return log.split("\n").filter((line) => line.includes(text)).length;
}

/** What the server logs when a comparison finds changes made behind its back. */
export const FOUND_BEHIND_BACK = "made behind the server's back";

/**
 * Waits (bounded) until the server has logged one more comparison that
 * found changes behind its back than `before` ({@link serverLogLines}).
 */
export function foundBehindBack(server: { logDir: string }, before: number): Promise<number> {
  return waitFor(
    async () => {
      const now = await serverLogLines(server, FOUND_BEHIND_BACK);
      return now > before && now;
    },
    10_000,
    "a comparison of the server that finds the change made behind its back",
  );
}
