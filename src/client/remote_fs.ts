/**
 * The server's file system as typed operations: listing, stat, folders,
 * removal, renames, times, partial uploads, and sync's tree listings,
 * change feed and conditional changes. The shell's commands, tree
 * transfers and sync all call these instead of building frames.
 *
 * @module
 */

import {
  decode,
  entryMessages,
  type MessageOf,
  Messages,
  type WireChange,
  type WireCondition,
  type WireEntry,
} from "../protocol/messages.ts";
import type { JournalChange, JournalPosition } from "../storage/journal.ts";
import { fromHex, toHex } from "../shared/hex.ts";
import type { RequestChannel } from "./request_channel.ts";
import { throwIfError } from "./replies.ts";

/** What a conditional request expects at its path (PROTOCOL.md §5.9.4); a file by its hex SHA-256. */
export type RemoteExpectation =
  | { kind: "absent" }
  | { kind: "directory" }
  | { kind: "file"; sha256: string };

/** One entry of {@link RemoteFs.listTree}; `sha256` (hex) for files. */
export interface RemoteTreeEntry {
  /** Relative to the folder listed. */
  path: string;
  kind: WireEntry["kind"];
  size: number;
  mtimeMs: number;
  sha256?: string;
}

/** A folder's whole tree, and where the server's journal stood when it was listed. */
export interface RemoteTree extends JournalPosition {
  /** The folder's canonical path on the server: the journal's changes name paths under it. */
  path: string;
  entries: RemoteTreeEntry[];
}

/** A page of {@link RemoteFs.changes}. */
export interface RemoteChanges {
  changes: JournalChange[];
  /** More changes follow: ask again from `sequence`. */
  more: boolean;
  /** The cursor to ask from next. */
  sequence: number;
}

/** Typed requests over a {@link RequestChannel}. */
export class RemoteFs {
  /** Both ends list `mode`: entries from `list` and `stat` carry their permission bits. */
  readonly modes: boolean;
  /** What the server said it handles (`Welcome`). */
  readonly capabilities: readonly string[];
  protected readonly channel: RequestChannel;

  constructor(channel: RequestChannel, capabilities: readonly string[], modes: boolean) {
    this.channel = channel;
    this.capabilities = capabilities;
    this.modes = modes;
  }

  async list(path: string): Promise<WireEntry[]> {
    const entries: WireEntry[] = [];
    await this.channel.exchange(Messages.List, { path }, (frame) => {
      const listing = decode(entryMessages(this.modes).Listing, throwIfError(frame));
      entries.push(...listing.entries);
      return !listing.more;
    });
    return entries;
  }

  async stat(path: string): Promise<{ path: string; entry: WireEntry }> {
    return decode(
      entryMessages(this.modes).Attributes,
      await this.channel.call(Messages.Stat, { path }),
    );
  }

  async chdir(path: string): Promise<string> {
    return decode(Messages.WorkingDirectory, await this.channel.call(Messages.Chdir, { path }))
      .path;
  }

  async mkdir(path: string, parents: boolean): Promise<void> {
    await this.channel.call(Messages.Mkdir, { path, parents });
  }

  async rmdir(path: string): Promise<void> {
    await this.channel.call(Messages.Rmdir, { path });
  }

  async remove(path: string, recursive: boolean): Promise<void> {
    await this.channel.call(Messages.Remove, { path, recursive });
  }

  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    await this.channel.call(Messages.Rename, { from, to, overwrite });
  }

  async setMtime(path: string, mtimeMs: number): Promise<void> {
    await this.channel.call(Messages.SetMtime, { path, mtimeMs });
  }

  /** The user's unfinished uploads at or below `path`, newest first (PROTOCOL.md §5.8). */
  async listPartials(path: string): Promise<MessageOf<typeof Messages.PartialList>> {
    return decode(Messages.PartialList, await this.channel.call(Messages.ListPartials, { path }));
  }

  /** Discards unfinished uploads: those of `path`, the one `id` names, or `all` below `path`. */
  async discardPartials(
    request: MessageOf<typeof Messages.DiscardPartials>,
  ): Promise<MessageOf<typeof Messages.PartialsDiscarded>> {
    return decode(
      Messages.PartialsDiscarded,
      await this.channel.call(Messages.DiscardPartials, request),
    );
  }

  /** Every entry under the folder `path`, with file hashes and the journal's position (§5.9.1). */
  async listTree(path: string): Promise<RemoteTree> {
    this.#require("ListTree");
    const tree: RemoteTree = { path, journalId: "", sequence: 0, entries: [] };
    await this.channel.exchange(Messages.ListTree, { path }, (frame) => {
      const reply = decode(Messages.TreeEntries, throwIfError(frame));
      Object.assign(tree, {
        path: reply.path,
        journalId: reply.journalId,
        sequence: reply.sequence,
      });
      for (const entry of reply.entries) {
        const { sha256, ...rest } = entry;
        tree.entries.push(sha256.length === 0 ? rest : { ...rest, sha256: toHex(sha256) });
      }
      return !reply.more;
    });
    return tree;
  }

  /**
   * One page of the changes under `path` since the cursor (§5.9.2); with
   * `watch`, the server then sends `Changed` when others change it (see
   * {@link RequestChannel.onChanged}). A cursor the server no longer has
   * fails with CURSOR_EXPIRED: list again.
   */
  async changes(path: string, cursor: JournalPosition, watch = false): Promise<RemoteChanges> {
    this.#require("Changes");
    const request = { path, ...cursor, watch };
    const reply = decode(Messages.ChangeList, await this.channel.call(Messages.Changes, request));
    return {
      changes: reply.changes.map(journalChange),
      more: reply.more,
      sequence: reply.sequence,
    };
  }

  /** Stores a small file at `path` only if it is still as `expected` (absent or that file). */
  async writeFileIf(
    request: { path: string; mtimeMs: number; sha256: Uint8Array; content: Uint8Array },
    expected: RemoteExpectation,
  ): Promise<void> {
    this.#require("WriteFileIf");
    await this.channel.call(Messages.WriteFileIf, {
      ...request,
      expected: wireCondition(expected),
    });
  }

  /** Removes the file or empty folder at `path` only if it is still as `expected`. */
  async removeIf(path: string, expected: RemoteExpectation): Promise<void> {
    this.#require("RemoveIf");
    await this.channel.call(Messages.RemoveIf, { path, expected: wireCondition(expected) });
  }

  /** Renames `from`, if still as `expected`, to `to`, if nothing is there. */
  async renameIf(from: string, to: string, expected: RemoteExpectation): Promise<void> {
    this.#require("RenameIf");
    await this.channel.call(Messages.RenameIf, { from, to, expected: wireCondition(expected) });
  }

  /** Refuses, before sending anything, a request the server did not list (PROTOCOL.md §11). */
  #require(request: keyof typeof Messages): void {
    if (this.capabilities.includes(request)) return;
    throw new Error(`the server does not support ${request} (folder sync needs a newer server)`);
  }
}

/** The wire form of an expectation. */
export function wireCondition(expected: RemoteExpectation): WireCondition {
  const sha256 = expected.kind === "file" ? fromHex(expected.sha256) : new Uint8Array();
  return { state: expected.kind, sha256 };
}

function journalChange(change: WireChange): JournalChange {
  const result: JournalChange = { sequence: change.sequence, op: change.op, path: change.path };
  if (change.from !== "") result.from = change.from;
  if (change.kind !== "none") {
    Object.assign(result, { kind: change.kind, size: change.size, mtimeMs: change.mtimeMs });
  }
  if (change.sha256.length === 32) result.sha256 = toHex(change.sha256);
  return result;
}
