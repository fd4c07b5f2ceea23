/**
 * The server's file system as typed operations: listing, stat, folders,
 * removal, renames, times and partial uploads. The shell's commands, tree
 * transfers and sync all call these instead of building frames.
 *
 * @module
 */

import {
  decode,
  entryMessages,
  type MessageOf,
  Messages,
  type WireEntry,
} from "../protocol/messages.ts";
import type { RequestChannel } from "./request_channel.ts";
import { throwIfError } from "./replies.ts";

/** Typed requests over a {@link RequestChannel}. */
export class RemoteFs {
  /** Both ends list `mode`: entries from `list` and `stat` carry their permission bits. */
  readonly modes: boolean;
  protected readonly channel: RequestChannel;

  constructor(channel: RequestChannel, modes: boolean) {
    this.channel = channel;
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
}
