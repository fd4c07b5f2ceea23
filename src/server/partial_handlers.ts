/**
 * The requests about a user's partial uploads (PROTOCOL.md §5.8):
 * `ListPartials` shows what unfinished uploads hold, `DiscardPartials`
 * removes them and gives their bytes back to the quota.
 *
 * @module
 */

import { MAX_PARTIALS_LISTED } from "../protocol/constants.ts";
import { decode, encode, type Frame, Messages, type WirePartial } from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import { type PartialInfo, type PartialSelection, StorageError } from "../storage/storage.ts";
import type { AuditDetail, RequestContext } from "./request_context.ts";

/** The entries of one `PartialList` stay well under the frame limit. */
const PARTIAL_LIST_BUDGET = 512 * 1024;

/** Bytes of a partial entry besides its two strings: 2 + 2 + 4 × 8 + 1. */
const PARTIAL_ENTRY_FIXED_BYTES = 37;

const encoder = new TextEncoder();

/** `ListPartials`: the newest partials at or below a path, in one bounded frame. */
export async function handleListPartials(
  context: RequestContext,
  frame: Frame,
): Promise<AuditDetail> {
  const { path } = decode(Messages.ListPartials, frame);
  const under = context.resolve(path);
  const listing = await context.storage.listPartials({ under, limit: MAX_PARTIALS_LISTED });
  const entries: WirePartial[] = [];
  let bytes = 0;
  for (const partial of listing.partials) {
    const entry = toWire(partial);
    bytes += PARTIAL_ENTRY_FIXED_BYTES + encoder.encode(entry.id + entry.path).length;
    if (bytes > PARTIAL_LIST_BUDGET) break;
    entries.push(entry);
  }
  const more = listing.more || entries.length < listing.partials.length;
  await context.reply(encode(Messages.PartialList, frame.id, {
    entries,
    more,
    count: listing.count,
    bytes: listing.bytes,
  }));
  return { path: under };
}

/** `DiscardPartials`: removes the partials of a path, one by id, or all at or below a path. */
export async function handleDiscardPartials(
  context: RequestContext,
  frame: Frame,
): Promise<AuditDetail> {
  const request = decode(Messages.DiscardPartials, frame);
  const selection = selectionOf(context, request);
  const result = await context.storage.discardPartials(selection);
  context.quota.discarded(context.user, result.bytes);
  await context.reply(encode(Messages.PartialsDiscarded, frame.id, result));
  const path = selection.kind === "path" ? selection.path : undefined;
  const id = selection.kind === "id" ? selection.id : undefined;
  const under = selection.kind === "all" ? selection.under : undefined;
  return { path: path ?? under, id, count: result.count, bytes: result.bytes };
}

function selectionOf(
  context: RequestContext,
  request: { path: string; id: string; all: boolean },
): PartialSelection {
  if (request.all && request.id !== "") {
    throw new StorageError(STATUS.BAD_REQUEST, "discard all, or one id: not both");
  }
  if (request.id !== "") return { kind: "id", id: request.id };
  const path = context.resolve(request.path);
  return request.all ? { kind: "all", under: path } : { kind: "path", path };
}

function toWire(partial: PartialInfo): WirePartial {
  return {
    id: partial.id,
    path: partial.path ?? "",
    size: partial.size ?? 0,
    mtimeMs: partial.mtimeMs ?? 0,
    received: partial.received,
    writtenMs: partial.writtenMs,
    active: partial.active,
  };
}
