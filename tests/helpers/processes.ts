/**
 * Runs the real `dfos` program for end-to-end tests: `main.ts` with the very
 * permission flags the binary is compiled with, a server on 127.0.0.1 with a
 * free port, temp folders for storage, users and logs.
 *
 * @module
 */

import { join } from "node:path";
import { PERMISSION_FLAGS } from "../../src/cli/permissions.ts";

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
    args: ["run", "--quiet", ...PERMISSION_FLAGS, MAIN, ...args],
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
  child: Deno.ChildProcess;
  /** Everything the server printed on stderr so far. */
  output(): string;
  /** Sends `signal` and waits for the exit code (SIGKILL after `timeoutMs`). */
  stop(signal?: Deno.Signal, timeoutMs?: number): Promise<number>;
}

/** Starts `dfos server` on a free loopback port with the demo users; extra flags in `args`. */
export async function startServer(args: string[] = [], dir?: string): Promise<TestServer> {
  dir ??= await Deno.makeTempDir({ prefix: "dfos-test-" });
  const usersFile = join(dir, "users.txt");
  await Deno.writeTextFile(
    usersFile,
    Object.entries(USERS).map(([name, password]) => `${name}:${password}`).join("\n") + "\n",
  );
  const storageDir = join(dir, "storage");
  const logDir = join(dir, "logs");
  const child = dfosCommand([
    "server",
    "--host=127.0.0.1",
    "--port=0",
    `--storage=${storageDir}`,
    `--users=${usersFile}`,
    `--log-dir=${logDir}`,
    ...args,
  ], { stdout: "null" }).spawn();
  const log = collectText(child.stderr);
  const port = await waitFor(() => log.text().match(/listening on .*:(\d+)/)?.[1], 20_000)
    .catch(async (error) => {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`server did not start: ${error.message}\n${log.text()}`);
    });
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
    child,
    output: log.text,
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
      await Deno.remove(dir!, { recursive: true }).catch(() => {});
    },
  };
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

function clientCommand(
  server: { port: number },
  args: string[],
  options: ClientOptions,
  stdin: "piped" | "null",
) {
  const user = options.user ?? "alice";
  const password = options.password ?? USERS[user as UserName] ?? "";
  return dfosCommand(
    ["client", "--host=127.0.0.1", `--port=${server.port}`, `--user=${user}`, "--quiet", ...args],
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
  server: { port: number },
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
  server: { port: number },
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

/** The audit records a server has written so far (complete lines only). */
export async function readAudit(server: { logDir: string }): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(join(server.logDir, "audit.log")).catch(() => "");
  return text.split("\n").filter((line) => line.endsWith("}"))
    .map((line) => JSON.parse(line).properties);
}
