/**
 * A sync's walk of its local folder, begun as the program starts: before the
 * command line's modules load (tens of milliseconds of compiling and of
 * Node's compatibility layer), not after them. `dfos client [OPTIONS] sync
 * [FLAGS] LOCAL REMOTE` is recognised from the raw arguments, and the walk
 * started in a worker; the sync command takes it only if it names the same
 * folder ({@link takeEarlyWalk}), and stops it otherwise. A wrong guess costs
 * a walk, never a wrong listing. This module loads nothing else that runs:
 * the program waits for it before anything.
 *
 * @module
 */

import type { LocalListing } from "./local_listing.ts";
import type { ListingRequest } from "./local_listing_worker.ts";
import { IGNORE_FILE } from "./own_files.ts";
import { SYNC_FLAGS } from "../client/sync_flags.ts";

/** The walk worker's module (a compiled binary holds it only if built with `--include` for it). */
const LISTING_WORKER = new URL("./local_listing_worker.ts", import.meta.url);

/**
 * What a walk's worker answers: the listing, the walk's failure, or, where
 * the worker could not run at all, that the walk is to be made here.
 */
export type WalkReply =
  | { listing: LocalListing }
  | { error: { name: string; message: string } }
  | { notRun: true };

/** A walk running in a worker. */
export interface StartedWalk {
  /** The folder walked, absolute and normalised. */
  readonly root: string;
  /** Settles when the worker answers; never, once stopped. */
  readonly reply: Promise<WalkReply>;
  /** Stops the walk. */
  stop(): void;
}

/**
 * Starts walking `root` (absolute, normalised) in a worker, DFOS's own files
 * left out; undefined where no worker can be started (a binary built without
 * the worker's module, which would print its failure to load it).
 */
export function startListingWorker(root: string): StartedWalk | undefined {
  let worker: Worker;
  try {
    Deno.statSync(LISTING_WORKER);
    worker = new Worker(LISTING_WORKER, { type: "module" });
  } catch {
    return undefined;
  }
  const reply = new Promise<WalkReply>((resolve) => {
    worker.onmessage = (event: MessageEvent<WalkReply>) => {
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      resolve({ notRun: true });
    };
  });
  worker.postMessage({ root } satisfies ListingRequest);
  return { root, reply, stop: () => worker.terminate() };
}

let early: StartedWalk | undefined;

/**
 * Starts the walk of the local folder if `args` (the program's) are a
 * one-shot sync of a folder that has no `.dfosignore` (whose rules would
 * change the walk); does nothing otherwise. Call once, first.
 */
export function startEarlyWalk(args: readonly string[]): void {
  const folder = syncFolderOf(args);
  if (folder === undefined) return;
  try {
    const root = absolute(folder);
    if (!Deno.statSync(root).isDirectory || exists(`${root}/${IGNORE_FILE}`)) return;
    early = startListingWorker(root);
  } catch {
    // No folder there, or none readable: the run says why.
  }
}

/**
 * The walk {@link startEarlyWalk} began, if it is of `root` (absolute,
 * normalised, as `node:path` `resolve` makes it); stopped, and undefined,
 * if it is of another folder. Hands the walk out once.
 */
export function takeEarlyWalk(root: string): StartedWalk | undefined {
  const walk = early;
  early = undefined;
  if (walk?.root === root) return walk;
  walk?.stop();
  return undefined;
}

/** The client's options that take a value (the next word, or after `=`; `-uNAME` for `-u`). */
export const CLIENT_VALUE_OPTIONS: ReadonlySet<string> = new Set([
  "--host",
  "--port",
  "-u",
  "--user",
  "--password-file",
  "--timeout",
  "--known-hosts",
  "--fingerprint",
  "--ca",
  "--limit-rate",
]);

/** The client's options without a value. */
export const CLIENT_FLAG_OPTIONS: ReadonlySet<string> = new Set([
  "-q",
  "--quiet",
  "--accept-new-host",
  "--insecure-no-tls",
  "-C",
  "--compress",
]);

/** How an option word reads: alone (or with its value in it), with the next word, or not at all. */
type OptionWord = "flag" | "takes next" | "unknown";

/**
 * The local folder of `args` if they are `client [OPTIONS] sync [FLAGS]
 * LOCAL REMOTE` without `--watch`, read as the command line reads them;
 * undefined for anything else, or anything not understood.
 */
export function syncFolderOf(args: readonly string[]): string | undefined {
  if (args[0] !== "client") return undefined;
  let at = 1;
  // The client's options stop at its first word that is not one (the command).
  for (; at < args.length && args[at].startsWith("-") && args[at] !== "-"; at++) {
    const word = optionWord(args[at], takesClientValue);
    if (word === "unknown") return undefined;
    if (word === "takes next") at++;
  }
  if (args[at] !== "sync") return undefined;
  const positionals: string[] = [];
  for (at++; at < args.length; at++) {
    const arg = args[at];
    if (arg === "--") {
      positionals.push(...args.slice(at + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    if (arg === "--watch" || arg.startsWith("--watch=")) return undefined;
    const word = optionWord(arg, takesSyncValue);
    if (word === "unknown") return undefined;
    if (word === "takes next") at++;
  }
  return positionals.length === 2 ? positionals[0] : undefined;
}

/** Whether `name` (`--long` or `-s`) is a client option with a value; undefined if it is none. */
function takesClientValue(name: string): boolean | undefined {
  if (CLIENT_VALUE_OPTIONS.has(name)) return true;
  return CLIENT_FLAG_OPTIONS.has(name) ? false : undefined;
}

/** Whether `name` (`--long` or `-s`) is a sync flag with a value; undefined if it is none. */
function takesSyncValue(name: string): boolean | undefined {
  for (const [long, flag] of Object.entries(SYNC_FLAGS)) {
    const short = "short" in flag ? `-${flag.short}` : undefined;
    if (name === `--${long}` || name === short) return flag.type === "string";
  }
  return undefined;
}

/**
 * How an option word (`--name`, `--name=value`, `-abc`, `-uvalue`) reads,
 * given which names take a value (undefined: a name that is no option).
 */
function optionWord(word: string, takesValue: (name: string) => boolean | undefined): OptionWord {
  if (word.startsWith("--")) {
    const equals = word.indexOf("=");
    const takes = takesValue(equals < 0 ? word : word.slice(0, equals));
    if (takes === undefined) return "unknown";
    return takes && equals < 0 ? "takes next" : "flag";
  }
  // A cluster of short options: the first that takes a value takes the rest of the word, or the next.
  for (let index = 1; index < word.length; index++) {
    const takes = takesValue(`-${word[index]}`);
    if (takes === undefined) return "unknown";
    if (takes) return index === word.length - 1 ? "takes next" : "flag";
  }
  return "flag";
}

/** `path` made absolute against the working folder and normalised, as `node:path` `resolve` does. */
function absolute(path: string): string {
  const parts: string[] = [];
  const whole = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  for (const part of whole.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** Whether anything is at `path` (a broken link too); false only if nothing is. */
function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}
