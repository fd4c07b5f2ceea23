/**
 * A real terminal for tests of the interactive shell: a detached tmux
 * session running one command, whose screen the test reads and into which
 * it types keys.
 *
 * @module
 */

import { PERMISSION_FLAGS } from "../../src/cli/permissions.ts";
import { waitFor } from "./processes.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Whether tmux can be run here (tests that need it are ignored otherwise). */
export const hasTmux: Promise<boolean> = new Deno.Command("tmux", {
  args: ["-V"],
  stdout: "null",
  stderr: "null",
}).output().then((result) => result.success, () => false);

/** Runs `tmux ARGS`; resolves with its stdout. */
export async function tmux(...args: string[]): Promise<string> {
  const result = await new Deno.Command("tmux", { args, stderr: "piped" }).output();
  if (!result.success) {
    throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(result.stderr)}`);
  }
  return new TextDecoder().decode(result.stdout);
}

/** `dfos ARGS` as one shell command line, run like the binary (the tests' permission flags). */
export function dfosCommandLine(args: string[]): string {
  return [Deno.execPath(), "run", "--quiet", ...PERMISSION_FLAGS, MAIN, ...args]
    .map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** A terminal with one command running in it. Dispose it to end the session. */
export interface Terminal extends AsyncDisposable {
  /** The tmux session's name. */
  name: string;
  /** The visible screen, one line per row. */
  screen(): Promise<string>;
  /** Sends keys as tmux names them ("Enter", "Tab", "C-c") or as text. */
  type(...keys: string[]): Promise<void>;
  /** Waits until `test` holds for the screen; the error shows the screen. */
  expectScreen(test: (text: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Whether the session still exists. */
  running(): Promise<boolean>;
}

/** Options of {@link openTerminal}. */
export interface TerminalOptions {
  /** Working directory of the command. */
  cwd: string;
  /** Width and height in characters. Default 150 × 40. */
  width?: number;
  height?: number;
}

/** Starts `commandLine` (a shell command) in a new detached tmux session named `name`. */
export async function openTerminal(
  name: string,
  commandLine: string,
  options: TerminalOptions,
): Promise<Terminal> {
  const size = ["-x", String(options.width ?? 150), "-y", String(options.height ?? 40)];
  await tmux("kill-session", "-t", name).catch(() => {}); // A leftover of an earlier run.
  await tmux("new-session", "-d", "-s", name, ...size, "-c", options.cwd, commandLine);
  const screen = () => tmux("capture-pane", "-p", "-t", name);
  return {
    name,
    screen,
    async type(...keys) {
      await tmux("send-keys", "-t", name, ...keys);
    },
    expectScreen: (test, what, timeoutMs = 10_000) =>
      waitFor(async () => test(await screen()), timeoutMs, what).then(
        () => {},
        async (error) => Promise.reject(new Error(`${error.message}; screen:\n${await screen()}`)),
      ),
    running: async () => (await tmux("ls").catch(() => "")).includes(`${name}:`),
    async [Symbol.asyncDispose]() {
      await tmux("kill-session", "-t", name).catch(() => {});
    },
  };
}
