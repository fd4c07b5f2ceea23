/**
 * The client's command set, shared by the interactive shell and the one-shot
 * form (`dfos client --host H put report.pdf`). One table: name, aliases,
 * usage, summary and the function that runs it.
 *
 * @module
 */

import {
  type Command,
  type CommandContext,
  type CommandOutcome,
  parseCommandArgs,
  type PreparedWork,
} from "./command.ts";
import { rephrase, UsageError } from "./errors.ts";
import { STATUS } from "../protocol/status.ts";
import type { WireEntry } from "../protocol/messages.ts";
import { TRANSFER_COMMANDS } from "./transfer_commands.ts";
import { PARTIAL_COMMANDS } from "./partial_commands.ts";
import { syncCommand } from "./sync_command.ts";
import { formatBytes } from "../shared/format_bytes.ts";

const ls: Command = {
  name: "ls",
  aliases: ["list", "dir"],
  usage: "ls [-l] [PATH]",
  summary: "list a remote directory (-l: type, size, modification time)",
  completes: ["remote"],
  async run(context, args) {
    const { values, positionals } = parseCommandArgs(this, args, {
      long: { type: "boolean", short: "l" },
    }, { min: 0, max: 1 });
    const path = positionals[0] ?? ".";
    // Both asked at once (one round trip, not two); the listing is used if it is a folder.
    const listing = context.connection.list(path);
    listing.catch(() => {}); // A file has no listing: its entry is shown.
    const target = await context.connection.stat(path);
    const entries = target.entry.kind === "directory" ? await listing : [target.entry];
    const lines = entries.map((entry) => values.long ? longLine(entry) : shortName(entry));
    if (lines.length > 0) await context.print(lines.join("\n") + "\n");
  },
};

/** How `ls` marks each kind after the name, and `ls -l` in its first column. */
const KIND_MARKS = {
  directory: { suffix: "/", type: "d" },
  file: { suffix: "", type: "-" },
  symlink: { suffix: "@", type: "l" },
  other: { suffix: "", type: "?" },
} as const;

function shortName(entry: WireEntry): string {
  return entry.name + KIND_MARKS[entry.kind].suffix;
}

function longLine(entry: WireEntry): string {
  const type = KIND_MARKS[entry.kind].type;
  const when = new Date(entry.mtimeMs).toISOString().slice(0, 16).replace("T", " ");
  return `${type} ${String(entry.size).padStart(12)}  ${when}  ${shortName(entry)}`;
}

const cd: Command = {
  name: "cd",
  usage: "cd PATH",
  summary: "change the remote working directory",
  completes: ["remote"],
  async run(context, args) {
    const { positionals } = parseCommandArgs(this, args, {}, { min: 0, max: 1 });
    context.cwd = await context.connection.chdir(positionals[0] ?? "/");
  },
};

const pwd: Command = {
  name: "pwd",
  usage: "pwd",
  summary: "print the remote working directory",
  async run(context, args) {
    parseCommandArgs(this, args);
    await context.print(`${context.cwd}\n`);
  },
};

const mkdir: Command = {
  name: "mkdir",
  usage: "mkdir [-p] PATH",
  summary: "create a remote directory (-p: with missing parents, no error if it exists)",
  completes: ["remote"],
  async run(context, args) {
    const { values, positionals } = parseCommandArgs(this, args, {
      parents: { type: "boolean", short: "p" },
    }, { min: 1, max: 1 });
    await context.connection.mkdir(positionals[0], values.parents ?? false);
  },
};

const rmdir: Command = {
  name: "rmdir",
  usage: "rmdir PATH",
  summary: "remove an empty remote directory",
  completes: ["remote"],
  async run(context, args) {
    const { positionals } = parseCommandArgs(this, args, {}, { min: 1, max: 1 });
    await context.connection.rmdir(positionals[0]);
  },
};

const rm: Command = {
  name: "rm",
  aliases: ["delete", "del"],
  usage: "rm [-r] PATH",
  summary: "remove a remote file (-r: a directory and everything in it)",
  completes: ["remote"],
  async run(context, args) {
    const { values, positionals } = parseCommandArgs(this, args, {
      recursive: { type: "boolean", short: "r" },
    }, { min: 1, max: 1 });
    await context.connection.remove(positionals[0], values.recursive ?? false).catch((error) => {
      const hint = "is a directory (use rm -r to remove it with all it holds, or rmdir if empty)";
      throw rephrase(error, STATUS.IS_A_DIRECTORY, () => `${positionals[0]}: ${hint}`);
    });
  },
};

const mv: Command = {
  name: "mv",
  aliases: ["rename"],
  usage: "mv [-f] SOURCE TARGET",
  summary: "move or rename a remote file or directory (-f: replace TARGET)",
  completes: ["remote"],
  async run(context, args) {
    const { values, positionals } = parseCommandArgs(this, args, {
      force: { type: "boolean", short: "f" },
    }, { min: 2, max: 2 });
    let [from, to] = positionals;
    const target = await context.connection.stat(to).catch(() => undefined);
    if (target?.entry.kind === "directory") to = `${target.path}/${from.split("/").pop()}`;
    await context.connection.rename(from, to, values.force ?? false);
  },
};

const stat: Command = {
  name: "stat",
  usage: "stat PATH",
  summary: "show a remote entry's type, size and modification time",
  completes: ["remote"],
  async run(context, args) {
    const { positionals } = parseCommandArgs(this, args, {}, { min: 1, max: 1 });
    const { path, entry } = await context.connection.stat(positionals[0]);
    await context.print(
      `path: ${path}\ntype: ${entry.kind}\nsize: ${entry.size} (${formatBytes(entry.size)})\n` +
        `modified: ${new Date(entry.mtimeMs).toISOString()}\n`,
    );
  },
};

const lcd: Command = {
  name: "lcd",
  usage: "lcd DIR",
  summary: "change the local working directory",
  completes: ["local"],
  async run(context, args) {
    const { positionals } = parseCommandArgs(this, args, {}, { min: 1, max: 1 });
    Deno.chdir(positionals[0]);
    await Promise.resolve(context);
  },
};

const lpwd: Command = {
  name: "lpwd",
  usage: "lpwd",
  summary: "print the local working directory",
  async run(context, args) {
    parseCommandArgs(this, args);
    await context.print(`${Deno.cwd()}\n`);
  },
};

const lls: Command = {
  name: "lls",
  usage: "lls [DIR]",
  summary: "list a local directory",
  completes: ["local"],
  async run(context, args) {
    const { positionals } = parseCommandArgs(this, args, {}, { min: 0, max: 1 });
    const names: string[] = [];
    for await (const entry of Deno.readDir(positionals[0] ?? ".")) {
      names.push(entry.isDirectory ? `${entry.name}/` : entry.name);
    }
    if (names.length > 0) await context.print(names.sort().join("\n") + "\n");
  },
};

const help: Command = {
  name: "help",
  aliases: ["?"],
  usage: "help [COMMAND]",
  summary: "list commands, or show one command's usage",
  async run(context, args) {
    const { positionals } = parseCommandArgs(this, args, {}, { min: 0, max: 1 });
    if (positionals[0]) {
      const command = findCommand(positionals[0]);
      if (!command) throw new UsageError(`unknown command ${positionals[0]}`);
      const aliases = command.aliases?.length ? ` (also: ${command.aliases.join(", ")})` : "";
      return await context.print(`${command.usage}\n  ${command.summary}${aliases}\n`);
    }
    const synopses = COMMANDS.map(synopsis);
    const width = Math.max(...synopses.map((text) => text.length));
    const lines = COMMANDS.map((command, index) =>
      `  ${synopses[index].padEnd(width)}  ${command.summary}`
    );
    await context.print(`Commands:\n${lines.join("\n")}\n`);
  },
};

/** A command's usage with its aliases, as `help` lists it: `ls [-l] [PATH] (list, dir)`. */
function synopsis(command: Command): string {
  return command.aliases?.length
    ? `${command.usage} (${command.aliases.join(", ")})`
    : command.usage;
}

const exit: Command = {
  name: "exit",
  aliases: ["quit", "bye"],
  usage: "exit",
  summary: "close the connection and leave",
  run(_context, args) {
    parseCommandArgs(this, args);
    return Promise.resolve("exit");
  },
};

/** Every command, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  ls,
  cd,
  pwd,
  mkdir,
  rmdir,
  rm,
  mv,
  stat,
  ...TRANSFER_COMMANDS,
  ...PARTIAL_COMMANDS,
  syncCommand,
  lcd,
  lpwd,
  lls,
  help,
  exit,
];

/** The command called `name` or one of its aliases. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name || command.aliases?.includes(name));
}

/**
 * Begins what the command of `words` can do before the connection is open
 * (see {@link Command.prepare}); nothing if it cannot, or if its arguments
 * are wrong (the command says so when it runs).
 */
export function prepareCommand(words: string[]): PreparedWork | undefined {
  try {
    return findCommand(words[0])?.prepare?.(words.slice(1));
  } catch {
    return undefined;
  }
}

/** Runs one command line given as words; unknown commands are a {@link UsageError}. */
export function runCommand(context: CommandContext, words: string[]): Promise<CommandOutcome> {
  const command = findCommand(words[0]);
  if (!command) throw new UsageError(`unknown command "${words[0]}" (try help)`);
  return command.run(context, words.slice(1));
}

export type { Command, CommandContext, CommandOutcome };
