/**
 * A program on a real terminal, for tests that type as a person would: tmux
 * runs it in a detached session on a server of its own (its own socket, so
 * tests never share one and the session starts where the test stands), and
 * the test reads the screen and sends keys.
 *
 * @module
 */

import { join } from "node:path";
import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import { waitFor } from "./processes.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** `dfos ARGS` as a command, run as the binary runs (the same permission flags). */
export function dfosCommand(args: string[]): string[] {
  return [Deno.execPath(), "run", "--quiet", ...RUNTIME_FLAGS, MAIN, ...args];
}

/** `dfos ARGS` as one shell command line, for tests that wrap it in a shell. */
export function dfosCommandLine(args: string[]): string {
  return dfosCommand(args).map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** Whether tmux is installed; tests that need it are ignored without it. */
export const hasTmux: Promise<boolean> = new Deno.Command("tmux", {
  args: ["-V"],
  stdout: "null",
  stderr: "null",
}).output().then((result) => result.success, () => false);

/** Options of {@link Terminal.start}. */
export interface TerminalOptions {
  /** Folder the program starts in. Default: the test's own. */
  cwd?: string;
  /** Variables added to the program's environment. */
  env?: Record<string, string>;
  /** Columns and rows. Default 150 × 40. */
  width?: number;
  height?: number;
}

/** One program running on a terminal. Dispose it to end the program and its tmux server. */
export class Terminal implements AsyncDisposable {
  readonly #socket: string;
  readonly #statusFile: string;
  readonly #dir: string;

  private constructor(socket: string, dir: string) {
    this.#socket = socket;
    this.#dir = dir;
    this.#statusFile = join(dir, "status");
  }

  /** Starts `command` (program and arguments) on a new terminal. */
  static async start(command: string[], options: TerminalOptions = {}): Promise<Terminal> {
    const dir = await Deno.makeTempDir({ prefix: "dfos-terminal-" });
    // The server's socket in the test's own folder (not /tmp/tmux-UID), removed with it.
    const terminal = new Terminal(join(dir, "tmux.socket"), dir);
    // The pane stays after the program ends (remain-on-exit), so its last screen can be read;
    // its exit status goes to a file, which tmux 3.3 does not reliably report. The shell outlives
    // a Ctrl-C to write it: a trap (not an ignored signal, which the program would inherit).
    const script = 'trap : INT; env "$@"; echo $? > "$0.part" && mv "$0.part" "$0"';
    const environment = Object.entries(options.env ?? {}).map(([name, value]) =>
      `${name}=${value}`
    );
    await terminal.#tmux(
      ...["-f", "/dev/null", "start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";"],
      ...["new-session", "-d", "-s", "main", "-x", String(options.width ?? 150)],
      ...["-y", String(options.height ?? 40), "-c", options.cwd ?? Deno.cwd()],
      ...["sh", "-c", script, terminal.#statusFile, ...environment, ...command],
    );
    return terminal;
  }

  /** What the terminal has shown: the screen now, after the lines that scrolled off it. */
  screen(): Promise<string> {
    return this.#tmux("capture-pane", "-p", "-S", "-", "-t", "main");
  }

  /** Sends keys, as tmux names them (`Enter`, `Tab`, `C-c`, `C-d`) or literal text. */
  async type(...keys: string[]): Promise<void> {
    await this.#tmux("send-keys", "-t", "main", ...keys);
  }

  /** Sends `text` literally, then Enter. */
  async typeLine(text: string): Promise<void> {
    await this.#tmux("send-keys", "-t", "main", "-l", text);
    await this.type("Enter");
  }

  /** Waits until the screen passes `test` (or contains `text`); resolves to that screen. */
  async expect(
    test: string | ((screen: string) => boolean),
    what = String(test),
    timeoutMs = 20_000,
  ): Promise<string> {
    const passes = typeof test === "string" ? (screen: string) => screen.includes(test) : test;
    let last = "";
    try {
      return await waitFor(
        async () => {
          last = await this.screen();
          return passes(last) && last;
        },
        timeoutMs,
        what,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; screen:\n${last.trimEnd()}`);
    }
  }

  /** Waits for the program to end; resolves to its exit code. */
  async exitCode(timeoutMs = 20_000): Promise<number> {
    const text = await waitFor(
      () => Deno.readTextFile(this.#statusFile).catch(() => undefined),
      timeoutMs,
      "the program to exit",
    ).catch(async (error) => {
      throw new Error(`${error.message}; screen:\n${(await this.screen()).trimEnd()}`);
    });
    return Number(text.trim());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#tmux("kill-server").catch(() => {});
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #tmux(...args: string[]): Promise<string> {
    const result = await new Deno.Command("tmux", {
      args: ["-S", this.#socket, ...args],
      stdin: "null",
      stderr: "piped",
    }).output();
    if (!result.success) {
      throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(result.stderr)}`);
    }
    return new TextDecoder().decode(result.stdout);
  }
}
