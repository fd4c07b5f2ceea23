/**
 * Subprocess helpers for the benchmark: timed runs of one or many commands
 * started together, background children whose output is collected, and
 * lookups of installed programs.
 *
 * @module
 */

import { join } from "node:path";

/** One command line to run: the program and its arguments. */
export interface CommandLine {
  program: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** Options of {@link timeCommands}. */
export interface TimeCommandsOptions {
  /** Give up (kill everything) after this many milliseconds. Default 30 minutes. */
  timeoutMs?: number;
}

/** Commands ran past their time limit and were stopped. */
export class TimeLimitError extends Error {
  /** The limit, seconds. */
  readonly limitSeconds: number;
  constructor(limitSeconds: number) {
    super(`stopped at the time limit of ${limitSeconds} s`);
    this.name = "TimeLimitError";
    this.limitSeconds = limitSeconds;
  }
}

/** A command exited unsuccessfully; the message leads with what it printed. */
export class CommandFailedError extends Error {
  constructor(line: CommandLine, code: number, output: string, which = "") {
    const printed = output.trim().slice(-2000) || "(no output)";
    super(`exited ${code}: ${printed} [${which}${describe(line)}]`);
    this.name = "CommandFailedError";
  }
}

/**
 * Starts every command at once and resolves with the wall time in seconds
 * from the first start to the last exit. Rejects if any exits non-zero, with
 * a {@link TimeLimitError} if they ran out of time (and were stopped).
 */
export async function timeCommands(
  lines: CommandLine[],
  options: TimeCommandsOptions = {},
): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const signal = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  const children = lines.map((line) => spawnQuiet(line, signal));
  const results = await Promise.all(children.map((child) => child.output()));
  const seconds = (performance.now() - started) / 1000;
  if (signal.aborted && results.some((result) => result.code !== 0)) {
    throw new TimeLimitError(timeoutMs / 1000);
  }
  results.forEach((result, index) => {
    if (result.code !== 0) {
      const text = new TextDecoder().decode(result.stderr) +
        new TextDecoder().decode(result.stdout);
      const which = lines.length > 1 ? `process ${index + 1} of ${lines.length}: ` : "";
      throw new CommandFailedError(lines[index], result.code, text, which);
    }
  });
  return seconds;
}

/** Starts `line` with no stdin and its output piped. */
function spawnQuiet(line: CommandLine, signal?: AbortSignal): Deno.ChildProcess {
  return new Deno.Command(line.program, {
    args: line.args,
    env: line.env,
    cwd: line.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
  }).spawn();
}

/** Runs a command to completion and returns its stdout; rejects on a non-zero exit. */
export async function runText(line: CommandLine, stdin?: string): Promise<string> {
  const child = new Deno.Command(line.program, {
    args: line.args,
    env: line.env,
    cwd: line.cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const result = await child.output();
  const decoder = new TextDecoder();
  if (result.code !== 0) {
    throw new CommandFailedError(line, result.code, decoder.decode(result.stderr));
  }
  return decoder.decode(result.stdout) + decoder.decode(result.stderr);
}

/** Like {@link runText}, but resolves to undefined instead of rejecting. */
export function tryText(line: CommandLine): Promise<string | undefined> {
  return runText(line).catch(() => undefined);
}

/** A long-running child (a server) whose stdout and stderr are collected in the background. */
export interface BackgroundProcess {
  readonly pid: number;
  /** Everything it printed so far, stdout then stderr. */
  output(): string;
  /** Resolves with the exit code once it has exited. */
  readonly exited: Promise<number>;
  /** Sends SIGTERM (SIGKILL after `graceMs`) and waits for the exit. */
  stop(graceMs?: number): Promise<number>;
}

/** Starts `line` in the background. */
export function startBackground(line: CommandLine): BackgroundProcess {
  const child = spawnQuiet(line);
  let stdout = "";
  let stderr = "";
  const drained = Promise.all([
    collect(child.stdout, (text) => stdout += text),
    collect(child.stderr, (text) => stderr += text),
  ]);
  const exited = child.status.then(async (status) => {
    await drained;
    return status.code;
  });
  return {
    pid: child.pid,
    output: () => stdout + stderr,
    exited,
    async stop(graceMs = 10_000) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function collect(stream: ReadableStream<Uint8Array>, append: (text: string) => void) {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  } catch { /* the process went away */ }
}

/**
 * Resolves with the first capture group of `pattern` once the process has
 * printed a match; rejects with its output if it exits first or after `timeoutMs`.
 */
export async function waitForOutput(
  process: BackgroundProcess,
  pattern: RegExp,
  timeoutMs: number,
  what: string,
): Promise<string> {
  let exited = false;
  process.exited.then(() => exited = true);
  const found = await waitFor(
    () => exited ? null : process.output().match(pattern)?.[1],
    timeoutMs,
    what,
  ).catch((error) => {
    throw new Error(`${error.message}; it printed:\n${process.output().trim()}`);
  });
  if (found === null) throw new Error(`it exited before ${what}:\n${process.output().trim()}`);
  return found;
}

/** Polls `probe` every 20 ms until it returns a value; rejects after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The absolute path of `program` on PATH (plus the sbin folders), or undefined. */
export async function findProgram(program: string): Promise<string | undefined> {
  const folders = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)
    .concat(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
  for (const folder of folders) {
    const candidate = join(folder, program);
    const info = await Deno.stat(candidate).catch(() => undefined);
    if (info?.isFile && (info.mode ?? 0) & 0o111) return candidate;
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (bound and released at once). */
export function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Peak resident set size (`VmHWM`) of a live process in bytes, or undefined. */
export async function peakRssBytes(pid: number): Promise<number | undefined> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const kib = status.match(/^VmHWM:\s+(\d+)\s+kB/m)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}

/** User + system CPU seconds a live process has used so far, or undefined. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  // Fields after the command name: state is field 3, utime 14 and stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
}

/**
 * CPU seconds a live process has used since it had used `before` (from
 * {@link cpuSeconds}): the server's share of one run, its start-up left out.
 */
export async function cpuSince(
  pid: number,
  before: number | undefined,
): Promise<number | undefined> {
  const now = await cpuSeconds(pid);
  return now === undefined || before === undefined ? undefined : now - before;
}

/**
 * User + system CPU seconds of this process's children that have exited and
 * been waited for (`cutime` + `cstime`); the difference across a
 * {@link timeCommands} call is the CPU its commands used.
 */
export async function childrenCpuSeconds(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}

/** Linux's USER_HZ, 100 on every architecture Deno runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function describe(line: CommandLine): string {
  const words = [line.program, ...line.args].map((word) => /\s/.test(word) ? `"${word}"` : word);
  const text = words.join(" ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
