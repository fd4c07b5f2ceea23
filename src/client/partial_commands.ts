/**
 * `partials`: the user's unfinished uploads, kept on the server so they can
 * resume and counted in the quota. `partials` lists them, `partials rm`
 * discards them (PROTOCOL.md §5.8).
 *
 * @module
 */

import { type Command, type CommandContext, parseCommandArgs } from "./command.ts";
import { ConnectionError, LocalError, reasonOf, UsageError } from "./errors.ts";
import type { WirePartial } from "../protocol/messages.ts";
import { formatBytes } from "../shared/format_bytes.ts";

const DISCARD_USAGE = "partials rm PATH... | partials rm --id ID... | partials rm --all [PATH]";

const partials: Command = {
  name: "partials",
  usage: "partials [rm [--all|--id]] [PATH...]",
  summary: "list unfinished uploads kept on the server; rm PATH.../--id ID.../--all discards them",
  completes: ["remote"],
  async run(context, args) {
    requireSupport(context, args[0] === "rm" ? "DiscardPartials" : "ListPartials");
    if (args[0] === "rm") return await discard(context, args.slice(1));
    const { positionals } = parseCommandArgs(this, args, {}, { min: 0, max: 1 });
    await list(context, positionals[0] ?? "/");
  },
};

/** A client MUST NOT send a request the server did not advertise (PROTOCOL.md §11). */
function requireSupport(context: CommandContext, request: string): void {
  if (!context.connection.capabilities.includes(request)) {
    throw new LocalError(`this server does not offer ${request} (it is older than this client)`);
  }
}

async function list(context: CommandContext, path: string): Promise<void> {
  const listing = await context.connection.listPartials(path);
  if (listing.count === 0) return await context.print("no unfinished uploads\n");
  const lines = listing.entries.map(partialLine);
  const header =
    `${"received".padStart(9)}    ${"of size".padStart(9)}  ${"file date".padEnd(16)}` +
    `  ${"last written".padEnd(16)}  path`;
  const plural = listing.count === 1 ? "" : "s";
  const summary = `${listing.count} unfinished upload${plural}, ${formatBytes(listing.bytes)} ` +
    "of your quota in all; `partials rm PATH` discards one, `partials rm --all` every one";
  const cut = listing.more ? [`(only the newest ${listing.entries.length} are shown)`] : [];
  const body = lines.length > 0 ? [header, ...lines, ...cut] : [`none under ${path}`];
  await context.print([...body, summary].join("\n") + "\n");
}

/** One partial: bytes received of the size, the file's date, when last written, the path. */
function partialLine(partial: WirePartial): string {
  const known = partial.path !== "";
  const size = known ? formatBytes(partial.size) : "?";
  const date = known ? minute(partial.mtimeMs) : "?";
  const where = known ? printable(partial.path) : `? (path unknown; id ${printable(partial.id)})`;
  const state = partial.active ? "  [uploading now]" : "";
  return `${formatBytes(partial.received).padStart(9)} of ${size.padStart(9)}  ${date.padEnd(16)}` +
    `  ${minute(partial.writtenMs)}  ${where}${state}`;
}

async function discard(context: CommandContext, args: string[]): Promise<void> {
  const usage = { name: "partials rm", usage: DISCARD_USAGE };
  const { values, positionals } = parseCommandArgs(usage, args, {
    all: { type: "boolean", short: "a" },
    id: { type: "boolean" },
  }, { min: 0, max: Infinity });
  if (values.all && values.id) {
    throw new UsageError(`--all and --id exclude each other; usage: ${DISCARD_USAGE}`);
  }
  if (values.all) {
    if (positionals.length > 1) throw new UsageError(`usage: ${DISCARD_USAGE}`);
    const path = positionals[0] ?? "/";
    return await report(
      context,
      await context.connection.discardPartials({ path, id: "", all: true }),
    );
  }
  if (positionals.length === 0) throw new UsageError(`usage: ${DISCARD_USAGE}`);
  await discardEach(context, positionals, values.id ?? false);
}

/** Discards each path (or id); a failure is reported and the rest go on, then exit 1. */
async function discardEach(context: CommandContext, names: string[], byId: boolean) {
  let failed = 0;
  const total = { count: 0, bytes: 0, busy: 0 };
  for (const name of names) {
    const request = byId ? { path: "/", id: name, all: false } : { path: name, id: "", all: false };
    try {
      const result = await context.connection.discardPartials(request);
      total.count += result.count;
      total.bytes += result.bytes;
    } catch (error) {
      if (error instanceof ConnectionError || names.length === 1) throw error;
      context.warn(`partials: ${reasonOf(error)}`);
      failed++;
    }
  }
  await report(context, total);
  if (failed > 0) throw new LocalError(`${failed} of ${names.length} could not be discarded`);
}

async function report(
  context: CommandContext,
  result: { count: number; bytes: number; busy: number },
): Promise<void> {
  if (result.busy > 0) {
    context.warn(`partials: kept ${result.busy} that an upload is writing now`);
  }
  if (context.quiet) return;
  const plural = result.count === 1 ? "" : "s";
  await context.print(
    `discarded ${result.count} unfinished upload${plural} (${formatBytes(result.bytes)})\n`,
  );
}

/** "2026-03-01 12:00" (UTC), like `ls -l`. */
function minute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** `text` with control characters escaped, so nothing a server sends can steer the terminal. */
function printable(text: string): string {
  const escape = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, escape);
}

/** `partials`. */
export const PARTIAL_COMMANDS: readonly Command[] = [partials];
