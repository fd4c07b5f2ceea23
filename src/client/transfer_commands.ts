/**
 * The commands that move bytes: `get`, `put` and `cat`.
 *
 * @module
 */

import { basename, join } from "node:path";
import { posix } from "node:path";
import { type Command, type CommandContext, parseCommandArgs } from "./command.ts";
import { LocalError, reasonOf, rephrase } from "./errors.ts";
import { STATUS } from "../protocol/status.ts";
import { createProgress } from "./progress.ts";
import { plural } from "../shared/plural.ts";
import type { WireEntry } from "../protocol/messages.ts";
import type { TreeResult } from "./tree_transfer.ts";

/** Bytes `cat` shows unless told otherwise. */
export const DEFAULT_PREVIEW_BYTES = 1024;

const transferFlags = {
  recursive: { type: "boolean", short: "r" },
  force: { type: "boolean", short: "f" },
} as const;

const getFlags = { ...transferFlags, preserve: { type: "boolean", short: "p" } } as const;

/**
 * The transfer machinery (files, trees, their batches), loaded by the
 * commands that move bytes and by no other: begun as such a command starts,
 * so that it loads while the command's first request is on its way.
 */
function loadTransfers() {
  const loading = Promise.all([import("./file_transfer.ts"), import("./tree_transfer.ts")])
    .then(([files, trees]) => ({ ...files, ...trees }));
  loading.catch(() => {}); // A command that fails first never waits for it.
  return loading;
}

const get: Command = {
  name: "get",
  aliases: ["download"],
  usage: "get [-r] [-f] [-p] REMOTE [LOCAL]",
  summary:
    "download a file (-r: a directory tree, modes kept; -f: replace local files; -p: keep its mode)",
  completes: ["remote", "local"],
  async run(context, args) {
    const { values, positionals } = parseCommandArgs(this, args, getFlags, { min: 1, max: 2 });
    const transfers = loadTransfers();
    const remote = positionals[0];
    const info = await context.connection.stat(remote);
    const name = posix.basename(info.path) || "root";
    const local = await localTarget(positionals[1], name);
    const progress = await createProgress({ label: name, quiet: context.quiet });
    try {
      const { downloadFile, downloadTree } = await transfers;
      if (info.entry.kind === "directory") {
        if (!values.recursive) throw new LocalError(`${remote} is a directory (use get -r)`);
        const result = await downloadTree(context.connection, info.path, local, {
          root: info.entry,
          force: values.force,
          progress,
          limiter: context.limiter,
          signal: context.signal,
        });
        progress.stop();
        return reportTree(context, "get", "locally", result);
      }
      await downloadFile(context.connection, info.path, local, {
        force: values.force,
        progress,
        limiter: context.limiter,
        signal: context.signal,
        mode: values.preserve ? sourceMode(context, info.entry) : undefined,
      });
    } finally {
      progress.stop();
    }
  },
};

const put: Command = {
  name: "put",
  aliases: ["upload"],
  usage: "put [-r] [-f] LOCAL [REMOTE]",
  summary: "upload a file (-r: a directory tree; -f: replace remote files)",
  completes: ["local", "remote"],
  async run(context, args) {
    const { values, positionals } = parseCommandArgs(this, args, transferFlags, { min: 1, max: 2 });
    const transfers = loadTransfers();
    const local = positionals[0];
    const info = await Deno.stat(local).catch(() => {
      throw new LocalError(`${local}: no such local file or directory`);
    });
    const remote = await remoteTarget(context, positionals[1], basename(local));
    const progress = await createProgress({ label: basename(local), quiet: context.quiet });
    try {
      const { uploadFile, uploadTree } = await transfers;
      if (info.isDirectory) {
        if (!values.recursive) throw new LocalError(`${local} is a directory (use put -r)`);
        const result = await uploadTree(context.connection, local, remote, {
          force: values.force,
          progress,
          limiter: context.limiter,
          signal: context.signal,
        });
        progress.stop();
        return reportTree(context, "put", "on the server", result);
      }
      await uploadFile(context.connection, local, remote, {
        force: values.force,
        progress,
        limiter: context.limiter,
        signal: context.signal,
      }).catch((error) => {
        throw rephrase(error, STATUS.EXISTS, (message) => `${message} (use -f to replace it)`);
      });
    } finally {
      progress.stop();
    }
  },
};

const cat: Command = {
  name: "cat",
  aliases: ["preview"],
  usage: "cat [-n BYTES] [-a] PATH",
  summary:
    `show the first bytes of a remote file (default ${DEFAULT_PREVIEW_BYTES}; -a: all of it)`,
  completes: ["remote"],
  async run(context, args) {
    const { values, positionals } = parseCommandArgs(this, args, {
      bytes: { type: "string", short: "n" },
      all: { type: "boolean", short: "a" },
    }, { min: 1, max: 1 });
    const count = values.all ? 0 : parseByteCount(values.bytes ?? String(DEFAULT_PREVIEW_BYTES));
    const write = (bytes: Uint8Array) => context.write(bytes);
    const { readRemote } = await loadTransfers();
    await readRemote(context.connection, positionals[0], count, write, context.signal);
  },
};

function parseByteCount(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LocalError(`-n takes a whole number of bytes, at least 1 (got "${text}")`);
  }
  return value;
}

/** The permission bits `get -p` keeps: the entry's, if the server sends them (else a warning). */
function sourceMode(context: CommandContext, entry: WireEntry): number | undefined {
  if (entry.mode) return entry.mode;
  context.warn(
    `get: -p: the server does not send permission bits; ${entry.name} gets a new file's`,
  );
  return undefined;
}

/** Where a download goes: LOCAL, LOCAL/name if LOCAL is a directory, or ./name. */
async function localTarget(given: string | undefined, name: string): Promise<string> {
  if (given === undefined) return name;
  const info = await Deno.stat(given).catch(() => undefined);
  return info?.isDirectory ? join(given, name) : given;
}

/** Where an upload goes: REMOTE, REMOTE/name if REMOTE is a directory, or name in the cwd. */
async function remoteTarget(context: CommandContext, given: string | undefined, name: string) {
  if (given === undefined) return name;
  const info = await context.connection.stat(given).catch(() => undefined);
  return info?.entry.kind === "directory" ? posix.join(info.path, name) : given;
}

/** Why a tree transfer left an entry out, as the warning says it. */
const SKIP_REASONS = {
  symlink: "a symbolic link, not followed",
  other: "not a regular file or directory",
} as const;

/** Refused files named one by one before the rest are only counted. */
const REFUSED_NAMED = 10;

/** Where a tree transfer's targets are, as its messages say it. */
type TargetSide = "locally" | "on the server";

async function reportTree(
  context: CommandContext,
  verb: string,
  side: TargetSide,
  result: TreeResult,
) {
  for (const { path, kind } of result.skipped) {
    context.warn(`${verb}: ${path}: skipped (${SKIP_REASONS[kind]})`);
  }
  for (const { path, error } of result.failures) {
    context.warn(`${verb}: ${path}: ${reasonOf(error)}`);
  }
  for (const path of result.refused.slice(0, REFUSED_NAMED)) {
    context.warn(`${verb}: ${path}: already exists ${side}`);
  }
  if (result.refused.length > REFUSED_NAMED) {
    context.warn(`${verb}: and ${result.refused.length - REFUSED_NAMED} more that already exist`);
  }
  if (!context.quiet && Deno.stderr.isTerminal()) context.warn(treeSummary(result));
  const failure = treeFailure(result, side);
  if (failure) throw new LocalError(failure);
  await Promise.resolve();
}

/** The line a tree transfer ends with on a terminal: "2 files, 1 directory, 300 bytes, 1 refused". */
export function treeSummary(result: TreeResult): string {
  const parts = [
    plural(result.files, "file"),
    plural(result.directories, "directory", "directories"),
    plural(result.bytes, "byte"),
  ];
  if (result.refused.length > 0) parts.push(`${result.refused.length} refused`);
  if (result.skipped.length > 0) parts.push(`${result.skipped.length} skipped`);
  return parts.join(", ");
}

/**
 * The error a tree transfer ends with when files failed or were refused
 * (their targets exist and -f was not given); undefined if neither.
 */
export function treeFailure(result: TreeResult, side: TargetSide): string | undefined {
  const failed = result.failures.length;
  const refused = result.refused.length;
  const parts: string[] = [];
  if (failed > 0) {
    parts.push(`${failed} of ${plural(failed + refused + result.files, "file")} failed`);
  }
  if (refused > 0) {
    const [verb, them] = refused === 1 ? ["exists", "it"] : ["exist", "them"];
    parts.push(
      `refused ${plural(refused, "file")} that already ${verb} ${side} (use -f to replace ${them})`,
    );
  }
  return parts.length > 0 ? parts.join("; ") : undefined;
}

/** `get`, `put` and `cat`. */
export const TRANSFER_COMMANDS: readonly Command[] = [get, put, cat];
