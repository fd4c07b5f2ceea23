/**
 * A logged-in connection to a DFOS server. Every request gets its own id, so
 * any number may be in flight at once; one reader routes reply frames to the
 * request they answer.
 *
 * @module
 */

import {
  DEFAULT_CHUNK_SIZE,
  MAGIC,
  MESSAGE_TYPE,
  PROTOCOL_VERSION,
} from "../protocol/constants.ts";
import { FrameReader } from "../protocol/frame_reader.ts";
import { FrameWriter } from "../protocol/frame_writer.ts";
import {
  decode,
  encode,
  type Frame,
  messageName,
  type MessageOf,
  Messages,
  type MessageSpec,
  SYMLINK_CAPABILITY,
  type WireChange,
  type WireCondition,
  type WireEntry,
} from "../protocol/messages.ts";
import type { JournalChange, JournalPosition } from "../storage/journal.ts";
import { fromHex, toHex } from "../shared/hex.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { ConnectionError, connectionLostReason, RemoteError } from "./errors.ts";
import { withTimeout } from "./timeout.ts";
import { ZSTD_CAPABILITY } from "../protocol/compression.ts";
import { openTransport, type TrustMode } from "../transport/client_transport.ts";
import { defaultKnownHostsPath } from "../transport/known_hosts.ts";

/** Options of {@link ClientConnection.open}. */
export interface ConnectOptions {
  host: string;
  port: number;
  user: string;
  /** The password, or a function asked for it once the server is trusted. */
  password: string | (() => Promise<string>);
  /** Whom to trust; default: TLS pinned through the default known-hosts file. */
  trust?: TrustMode;
  /** Offer zstd compression of transfers (used if the server supports it). Default false. */
  compress?: boolean;
  /** Limit for connecting and logging in, ms (queue time excluded). Default 15000. */
  timeoutMs?: number;
  /** Limit for waiting in the server's queue, ms. Default 600000. */
  queueTimeoutMs?: number;
  /**
   * Told when the server queues us for a slot, and whenever our place changes
   * (`position` ≥ 1 of `waiting`); and, with `position` 0, that the server is
   * still working on our login (`waiting`: our place in line for the password
   * check, 0 while it runs).
   */
  onQueued?: (position: number, waiting: number) => void;
  /** Told of server notices (e.g. shutting down). */
  onNotice?: (message: string) => void;
}

/** What a conditional request expects at its path (PROTOCOL.md §5.9.4); a file by its hex SHA-256. */
export type RemoteExpectation =
  | { kind: "absent" }
  | { kind: "directory" }
  | { kind: "file"; sha256: string };

/** One entry of {@link ClientConnection.listTree}; `sha256` (hex) for files. */
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

/** A page of {@link ClientConnection.changes}. */
export interface RemoteChanges {
  changes: JournalChange[];
  /** More changes follow: ask again from `sequence`. */
  more: boolean;
  /** The cursor to ask from next. */
  sequence: number;
}

/** Receives the frames that answer request `id`; returns true when the request is complete. */
export type ReplyHandler = (frame: Frame, id: number) => boolean | Promise<boolean>;

interface Pending {
  handle: ReplyHandler;
  fail: (error: Error) => void;
}

/** A connection after a successful login. */
export class ClientConnection {
  readonly serverName: string;
  readonly capabilities: readonly string[];
  readonly chunkSize: number;
  /** Both ends agreed to compress transfer chunks with zstd. */
  readonly compress: boolean;
  readonly sessionId: string;
  #conn: Deno.Conn;
  #reader: FrameReader;
  #writer: FrameWriter;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Error | undefined;
  #onNotice: (message: string) => void;
  /** Told of each `Changed` the server sends while a `changes` watch is on (PROTOCOL.md §5.9.3). */
  onChanged: ((position: JournalPosition) => void) | undefined;
  readonly closedPromise: Promise<void>;

  private constructor(link: OpenedLink, sessionId: string, onNotice: (message: string) => void) {
    this.#conn = link.conn;
    this.#reader = link.reader;
    this.#writer = link.writer;
    this.serverName = link.welcome.serverName;
    this.capabilities = link.welcome.capabilities;
    this.chunkSize = Math.min(link.welcome.chunkSize, DEFAULT_CHUNK_SIZE) || DEFAULT_CHUNK_SIZE;
    this.compress = link.compress && link.welcome.capabilities.includes(ZSTD_CAPABILITY);
    this.sessionId = sessionId;
    this.#onNotice = onNotice;
    this.closedPromise = this.#readLoop();
  }

  /** Connects, greets, waits in the queue if the server says so, and logs in. */
  static async open(options: ConnectOptions): Promise<ClientConnection> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const trust = options.trust ?? { kind: "pinned", knownHostsPath: defaultKnownHostsPath() };
    const conn = await openTransport(options.host, options.port, trust, timeoutMs);
    const link = await greet(conn, timeoutMs, options.compress ?? false);
    try {
      const password = typeof options.password === "string"
        ? options.password
        : await options.password();
      await link.writer.send(encode(Messages.Auth, 0, { user: options.user, password }));
      const authOk = await awaitLogin(link, options, timeoutMs);
      return new ClientConnection(link, authOk.sessionId, options.onNotice ?? (() => {}));
    } catch (error) {
      closeQuietly(link.conn);
      throw error;
    }
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Why the connection ended, once it has. */
  get closedReason(): Error | undefined {
    return this.#closed;
  }

  /**
   * Sends a request and routes every reply frame for it to `onFrame` until
   * that returns true; resolves then. Rejects if the connection ends first.
   * A frame's payload is only valid during the `onFrame` call.
   */
  exchange<T>(spec: MessageSpec<T>, value: T, onFrame: ReplyHandler): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, {
        handle: async (frame) => {
          const done = await onFrame(frame, id);
          if (done) resolve();
          return done;
        },
        fail: reject,
      });
      this.#writer.post(encode(spec, id, value)).catch((error) => {
        this.#pending.delete(id);
        reject(this.#lost(error));
      });
    });
  }

  /** Sends a request and resolves with its single reply; `Error` replies reject with {@link RemoteError}. */
  async call<T>(spec: MessageSpec<T>, value: T): Promise<Frame> {
    let reply: Frame | undefined;
    await this.exchange(spec, value, (frame) => {
      reply = { ...frame, payload: frame.payload.slice() };
      return true;
    });
    return throwIfError(reply!);
  }

  /** Sends one raw frame (used for `Data`, `DataEnd` and `Cancel`). */
  sendFrame(frame: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    return this.#writer.send(frame).catch((error) => Promise.reject(this.#lost(error)));
  }

  async list(path: string): Promise<WireEntry[]> {
    const entries: WireEntry[] = [];
    await this.exchange(Messages.List, { path }, (frame) => {
      const listing = decode(Messages.Listing, throwIfError(frame));
      entries.push(...listing.entries);
      return !listing.more;
    });
    return entries;
  }

  async stat(path: string): Promise<{ path: string; entry: WireEntry }> {
    return decode(Messages.Attributes, await this.call(Messages.Stat, { path }));
  }

  async chdir(path: string): Promise<string> {
    return decode(Messages.WorkingDirectory, await this.call(Messages.Chdir, { path })).path;
  }

  async mkdir(path: string, parents: boolean): Promise<void> {
    await this.call(Messages.Mkdir, { path, parents });
  }

  async rmdir(path: string): Promise<void> {
    await this.call(Messages.Rmdir, { path });
  }

  async remove(path: string, recursive: boolean): Promise<void> {
    await this.call(Messages.Remove, { path, recursive });
  }

  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    await this.call(Messages.Rename, { from, to, overwrite });
  }

  async setMtime(path: string, mtimeMs: number): Promise<void> {
    await this.call(Messages.SetMtime, { path, mtimeMs });
  }

  /** The user's unfinished uploads at or below `path`, newest first (PROTOCOL.md §5.8). */
  async listPartials(path: string): Promise<MessageOf<typeof Messages.PartialList>> {
    return decode(Messages.PartialList, await this.call(Messages.ListPartials, { path }));
  }

  /** Discards unfinished uploads: those of `path`, the one `id` names, or `all` below `path`. */
  async discardPartials(
    request: MessageOf<typeof Messages.DiscardPartials>,
  ): Promise<MessageOf<typeof Messages.PartialsDiscarded>> {
    return decode(Messages.PartialsDiscarded, await this.call(Messages.DiscardPartials, request));
  }

  /** Every entry under the folder `path`, with file hashes and the journal's position (§5.9.1). */
  async listTree(path: string): Promise<RemoteTree> {
    this.#require("ListTree");
    const tree: RemoteTree = { path, journalId: "", sequence: 0, entries: [] };
    await this.exchange(Messages.ListTree, { path }, (frame) => {
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
   * `watch`, the server then tells {@link onChanged} when others change it.
   * A cursor the server no longer has fails with CURSOR_EXPIRED: list again.
   */
  async changes(
    path: string,
    cursor: JournalPosition,
    watch = false,
  ): Promise<RemoteChanges> {
    this.#require("Changes");
    const request = { path, ...cursor, watch };
    const reply = decode(Messages.ChangeList, await this.call(Messages.Changes, request));
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
    await this.call(Messages.WriteFileIf, { ...request, expected: wireCondition(expected) });
  }

  /** Removes the file or empty folder at `path` only if it is still as `expected`. */
  async removeIf(path: string, expected: RemoteExpectation): Promise<void> {
    this.#require("RemoveIf");
    await this.call(Messages.RemoveIf, { path, expected: wireCondition(expected) });
  }

  /** Renames `from`, if still as `expected`, to `to`, if nothing is there. */
  async renameIf(from: string, to: string, expected: RemoteExpectation): Promise<void> {
    this.#require("RenameIf");
    await this.call(Messages.RenameIf, { from, to, expected: wireCondition(expected) });
  }

  /** Refuses, before sending anything, a request the server did not list (PROTOCOL.md §11). */
  #require(request: keyof typeof Messages): void {
    if (this.capabilities.includes(request)) return;
    throw new Error(
      `the server does not support ${request} (folder sync needs a newer server)`,
    );
  }

  /** Says goodbye and closes. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = new ConnectionError("connection closed");
      await this.#writer.send(encode(Messages.Goodbye, 0, {})).catch(() => {});
      closeQuietly(this.#conn);
    }
    await this.closedPromise;
  }

  async #readLoop(): Promise<void> {
    let ending: Error = new ConnectionError("connection closed by the server");
    try {
      for (;;) {
        // Requests issued while replies already here are handled leave together, in one write.
        if (!this.#reader.hasBufferedFrame) this.#writer.uncork();
        const frame = await this.#reader.next();
        if (!frame) break;
        this.#writer.cork();
        if (frame.id === 0) {
          const fatal = this.#onConnectionFrame(frame);
          if (fatal) {
            ending = fatal;
            break;
          }
          continue;
        }
        const pending = this.#pending.get(frame.id);
        if (!pending) continue; // A late frame for a request we gave up on.
        try {
          if (await pending.handle(frame, frame.id)) this.#pending.delete(frame.id);
        } catch (error) {
          this.#pending.delete(frame.id);
          pending.fail(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } catch (error) {
      ending = this.#lost(error);
    }
    this.#closed ??= ending;
    closeQuietly(this.#conn);
    for (const pending of this.#pending.values()) pending.fail(this.#closed);
    this.#pending.clear();
  }

  #onConnectionFrame(frame: Frame): Error | undefined {
    if (frame.type === MESSAGE_TYPE.Notice) {
      this.#onNotice(decode(Messages.Notice, frame).message);
      return undefined;
    }
    if (frame.type === MESSAGE_TYPE.Changed) {
      this.onChanged?.(decode(Messages.Changed, frame));
      return undefined;
    }
    if (frame.type === MESSAGE_TYPE.Error) return toRemoteError(frame);
    return new ConnectionError(`unexpected ${messageName(frame.type)} from the server`);
  }

  #lost(error: unknown): Error {
    if (this.#closed) return this.#closed;
    if (error instanceof RemoteError || error instanceof ConnectionError) return error;
    if (error instanceof ProtocolError) {
      return new ConnectionError(`protocol error: ${error.message}`);
    }
    return new ConnectionError(`connection lost: ${connectionLostReason(error)}`);
  }
}

interface OpenedLink {
  conn: Deno.Conn;
  reader: FrameReader;
  writer: FrameWriter;
  welcome: ReturnType<typeof decodeWelcome>;
  /** Whether we offered compression. */
  compress: boolean;
}

function decodeWelcome(frame: Frame) {
  return decode(Messages.Welcome, frame);
}

async function greet(conn: Deno.Conn, timeoutMs: number, compress: boolean): Promise<OpenedLink> {
  const reader = new FrameReader(conn);
  const writer = new FrameWriter(conn);
  try {
    await writer.send(encode(Messages.Hello, 0, {
      magic: MAGIC,
      version: PROTOCOL_VERSION,
      software: `dfos-client`,
      capabilities: [
        "resume",
        "sha256",
        SYMLINK_CAPABILITY,
        ...(compress ? [ZSTD_CAPABILITY] : []),
      ],
    }));
    const frame = await withTimeout(reader.next(), timeoutMs, "waiting for the server's greeting");
    if (!frame) throw new ConnectionError("the server closed the connection during the handshake");
    throwIfError(frame);
    return { conn, reader, writer, welcome: decodeWelcome(frame), compress };
  } catch (error) {
    closeQuietly(conn);
    throw asConnectionError(error);
  }
}

async function awaitLogin(link: OpenedLink, options: ConnectOptions, timeoutMs: number) {
  let queued = false;
  for (;;) {
    const limit = queued ? options.queueTimeoutMs ?? 600_000 : timeoutMs;
    const frame = await withTimeout(link.reader.next(), limit, "waiting for the login to complete")
      .catch((error) => Promise.reject(asConnectionError(error)));
    if (!frame) throw new ConnectionError("the server closed the connection during login");
    if (frame.type === MESSAGE_TYPE.Queued) {
      const { position, waiting } = decode(Messages.Queued, frame);
      options.onQueued?.(position, waiting);
      queued = true;
      continue;
    }
    throwIfError(frame);
    return decode(Messages.AuthOk, frame);
  }
}

function wireCondition(expected: RemoteExpectation): WireCondition {
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

function throwIfError(frame: Frame): Frame {
  if (frame.type === MESSAGE_TYPE.Error) throw toRemoteError(frame);
  return frame;
}

function toRemoteError(frame: Frame): RemoteError {
  const { code, message } = decode(Messages.Error, frame);
  return new RemoteError(code, message);
}

function asConnectionError(error: unknown): Error {
  if (error instanceof RemoteError || error instanceof ConnectionError) return error;
  if (error instanceof ProtocolError) {
    if (error.message.includes("speaks TLS")) {
      return new ConnectionError("the server speaks TLS: connect without --insecure-no-tls");
    }
    return new ConnectionError(`the server's reply is not DFOS protocol: ${error.message}`);
  }
  return new ConnectionError(connectionLostReason(error));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
