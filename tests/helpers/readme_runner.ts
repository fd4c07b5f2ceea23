/**
 * Runs every shell command README.md documents, as written and in order, in a
 * copy of the repository (so `./dfos`, `./id_passwd.txt` and the default
 * folders are the README's, and the checkout is left alone), the way each
 * block's readme-test comment says (tests/helpers/readme_commands.ts).
 * Prints one line per command and exits 1 if any did not do as documented.
 *
 * tests/e2e/readme_commands_test.ts runs it inside a network namespace of its
 * own, where the README's server can listen on its default port without
 * meeting anything else on the machine, and where nothing leaves loopback.
 *
 *   deno run --allow-read --allow-write --allow-run --allow-env tests/helpers/readme_runner.ts REPOSITORY
 *
 * @module
 */

import { join } from "node:path";
import { type ReadmeBlock, readmeBlocks, type ReadmeCommand } from "./readme_commands.ts";
import { collectText, waitFor } from "./processes.ts";
import { hasTmux, Terminal } from "./terminal.ts";

/** Longest any one command may take. */
const COMMAND_TIMEOUT_MS = 120_000;
/** How long a command on a terminal may take to end after its last answer. */
const TERMINAL_EXIT_TIMEOUT_MS = 30_000;
/** Folders of a checkout that are not copied: history, and what running DFOS leaves. */
const NOT_COPIED = new Set([
  ".git",
  "logs",
  "dist",
  "server_storage",
  "server_state",
  "node_modules",
]);

type Outcome = { status: "ok" | "skipped" | "failed"; detail?: string };

/** A command left running in the background until the end. */
interface Background {
  command: ReadmeCommand;
  stop(): Promise<Outcome>;
}

/** Runs the README of `repository`; resolves to the exit code. */
async function main(repository: string): Promise<number> {
  const work = await Deno.makeTempDir({ prefix: "dfos-readme-" });
  const config = await Deno.makeTempDir({ prefix: "dfos-readme-config-" });
  const backgrounds: Background[] = [];
  let failures = 0;
  const report = (command: ReadmeCommand, outcome: Outcome) => {
    if (outcome.status === "failed") failures++;
    console.log(`${outcome.status.padEnd(7)} README.md:${command.line}  ${command.text}`);
    if (outcome.detail) console.log(indent(outcome.detail));
  };
  try {
    await copyTree(repository, work, true);
    // The README's own setting only: no password or user from whoever runs the tests,
    // and a known-hosts file and sync state of its own.
    Deno.env.delete("DFOS_PASSWORD");
    Deno.env.delete("DFOS_USER");
    Deno.env.set("XDG_CONFIG_HOME", config);
    Deno.env.set("XDG_STATE_HOME", join(config, "state"));
    Deno.env.set("NO_COLOR", "1");
    const blocks = readmeBlocks(await Deno.readTextFile(join(work, "README.md")));
    if (blocks.length === 0) {
      throw new Error("README.md has no sh blocks: the extraction is broken");
    }
    const ciScript = await Deno.readTextFile(join(work, ".ci", "run"));
    for (const block of blocks) {
      for (const command of block.commands) {
        const outcome = await runCommand(block, command, work, ciScript, backgrounds);
        report(command, outcome);
      }
    }
  } finally {
    for (const background of backgrounds.reverse()) {
      const outcome = await background.stop();
      if (outcome.status === "failed") report(background.command, outcome);
    }
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.remove(config, { recursive: true }).catch(() => {});
  }
  console.log(failures === 0 ? "every README command did as documented" : `${failures} failed`);
  return failures === 0 ? 0 : 1;
}

function runCommand(
  block: ReadmeBlock,
  command: ReadmeCommand,
  work: string,
  ciScript: string,
  backgrounds: Background[],
): Promise<Outcome> {
  const mode = block.mode;
  switch (mode.kind) {
    case "skip":
      return Promise.resolve({ status: "skipped", detail: mode.reason });
    case "ci":
      return Promise.resolve(checkRunByCi(command, ciScript));
    case "run":
      return runToEnd(command, work, mode.exitCode);
    case "background":
      return startInBackground(command, work, mode, backgrounds);
    case "terminal":
      return runOnTerminal(command, work, mode.dialogue);
  }
}

/** `bash -c COMMAND`, with pipefail, so a failing step of a pipe fails the command. */
function shell(command: ReadmeCommand): string[] {
  return ["-o", "pipefail", "-c", command.text];
}

async function runToEnd(command: ReadmeCommand, work: string, exitCode: number): Promise<Outcome> {
  const result = await new Deno.Command("bash", {
    args: shell(command),
    cwd: work,
    stdin: "null",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  }).output();
  if (result.code === exitCode) return { status: "ok" };
  const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  return { status: "failed", detail: `exit ${result.code}, not ${exitCode}:\n${tail(output)}` };
}

async function startInBackground(
  command: ReadmeCommand,
  work: string,
  { readyText, stoppedLater }: { readyText: string; stoppedLater: boolean },
  backgrounds: Background[],
): Promise<Outcome> {
  // bash runs a single command by exec, so the signal below reaches the program itself.
  const child = new Deno.Command("bash", {
    args: shell(command),
    cwd: work,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = collectText(child.stdout);
  const err = collectText(child.stderr);
  const output = () => out.text() + err.text();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  backgrounds.push({
    command,
    async stop() {
      if (exited) {
        if (stoppedLater && exited.code === 0) return { status: "ok" };
        return { status: "failed", detail: `ended early, exit ${exited.code}` };
      }
      if (stoppedLater) {
        child.kill("SIGKILL");
        await child.status;
        return { status: "failed", detail: "still running: the later command did not stop it" };
      }
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const status = await child.status.finally(() => clearTimeout(timer));
      if (status.code === 0) return { status: "ok" };
      return { status: "failed", detail: `exit ${status.code} on SIGTERM:\n${tail(output())}` };
    },
  });
  try {
    await waitFor(() => exited !== undefined || output().includes(readyText), 30_000, readyText);
  } catch (error) {
    return { status: "failed", detail: `${(error as Error).message}:\n${tail(output())}` };
  }
  if (exited) return { status: "failed", detail: `exit ${exited.code}:\n${tail(output())}` };
  return { status: "ok", detail: `running in the background until the end` };
}

async function runOnTerminal(
  command: ReadmeCommand,
  work: string,
  dialogue: { text: string; keys: string }[],
): Promise<Outcome> {
  if (!(await hasTmux)) return { status: "skipped", detail: "needs tmux, which is not installed" };
  await using terminal = await Terminal.start(["bash", ...shell(command)], { cwd: work });
  try {
    let seen = 0;
    for (const step of dialogue) {
      const screen = await terminal.expect(
        (text) => text.indexOf(step.text, seen) >= 0,
        `"${step.text}"`,
      );
      seen = screen.indexOf(step.text, seen) + step.text.length;
      await terminal.typeLine(step.keys);
    }
    const code = await terminal.exitCode(TERMINAL_EXIT_TIMEOUT_MS);
    if (code === 0) return { status: "ok" };
    return { status: "failed", detail: `exit ${code}:\n${tail(await terminal.screen())}` };
  } catch (error) {
    return { status: "failed", detail: (error as Error).message };
  }
}

/** A command the README says CI runs must be a line of `.ci/run`, as written. */
function checkRunByCi(command: ReadmeCommand, ciScript: string): Outcome {
  const written = command.text.replace(/\s+#.*$/, "").trim();
  const ciLines = ciScript.split("\n").map((line) => line.trim());
  if (ciLines.includes(written)) return { status: "ok", detail: "run by .ci/run" };
  return { status: "failed", detail: `said to be run by CI, but .ci/run has no line "${written}"` };
}

/** Copies the folder `from` into `to`, links as links; at the top, not what NOT_COPIED names. */
async function copyTree(from: string, to: string, top = false): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (top && NOT_COPIED.has(entry.name)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isSymlink) await Deno.symlink(await Deno.readLink(source), target);
    else if (entry.isDirectory) await copyTree(source, target);
    else if (entry.isFile) await Deno.copyFile(source, target);
  }
}

/** The last lines of `text`, enough to see why. */
function tail(text: string): string {
  return text.trimEnd().split("\n").slice(-30).join("\n");
}

function indent(text: string): string {
  return text.split("\n").map((line) => `        ${line}`).join("\n");
}

if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error("usage: readme_runner.ts REPOSITORY");
    Deno.exit(2);
  }
  Deno.exit(await main(Deno.args[0]));
}
