/**
 * Daemons that tests start from Debian's packages (Ceph, HAProxy): whether a
 * program is installed, a free loopback port, and a started program whose
 * output is kept (bounded) for the error when it fails.
 *
 * @module
 */

import { collectText } from "./processes.ts";

/** Output kept of a daemon, from its end: enough for an error message. */
const OUTPUT_KEPT = 4096;

/** Whether `program ARGS` runs here and succeeds (by default `program --version`). */
export async function installed(program: string, args = ["--version"]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(20_000),
    }).output();
    return success;
  } catch {
    return false; // Not found: it cannot even be started.
  }
}

/** A loopback port free at the time of the call (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A program started in the background by a test. */
export interface Daemon {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  /** Whether it has exited. */
  exited(): boolean;
  /** The end of what it printed (stdout and stderr). */
  output(): string;
  /** Sends `signal` (SIGKILL by default) unless it has exited; resolves once it has. */
  kill(signal?: Deno.Signal): Promise<void>;
  /** Sends SIGTERM and waits up to `graceMs` for the exit, then kills it. */
  terminate(graceMs: number): Promise<void>;
}

/** Starts `program ARGS` with its output collected. */
export function startDaemon(name: string, program: string, args: string[]): Daemon {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = collectText(child.stdout);
  const err = collectText(child.stderr);
  let exited = false;
  const status = child.status.then(() => {
    exited = true;
  });
  const send = (signal: Deno.Signal) => {
    if (exited) return;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  };
  const ended = () => Promise.all([status, out.done, err.done]).then(() => {});
  return {
    name,
    child,
    exited: () => exited,
    output: () => (out.text() + err.text()).slice(-OUTPUT_KEPT),
    kill(signal: Deno.Signal = "SIGKILL") {
      send(signal);
      return ended();
    },
    async terminate(graceMs: number) {
      send("SIGTERM");
      const timer = setTimeout(() => send("SIGKILL"), graceMs);
      await ended().finally(() => clearTimeout(timer));
    },
  };
}

/** Runs `program ARGS` to completion within `timeoutMs`; throws with its output unless it succeeds. */
export async function runProgram(
  program: string,
  args: string[],
  options: { stdin?: string; timeoutMs?: number } = {},
): Promise<string> {
  const child = new Deno.Command(program, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(options.stdin ?? ""));
  await writer.close();
  const { success, code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  const output = decoder.decode(stdout) + decoder.decode(stderr);
  if (!success) {
    throw new Error(`${program} ${args.join(" ")} failed (exit ${code}):\n${output.slice(-2048)}`);
  }
  return output;
}
