/**
 * Connecting and logging in to a DFOS server: the handshake, the queue and
 * the login, then a {@link ClientConnection}: the request channel
 * (`request_channel.ts`) with the typed operations of `remote_fs.ts` on it.
 *
 * @module
 */

import { concatBytes } from "../shared/concat_bytes.ts";
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
  Messages,
  type MessageSpec,
  MODE_CAPABILITY,
  SYMLINK_CAPABILITY,
} from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { ConnectionError, connectionLostReason, RemoteError } from "./errors.ts";
import { closeQuietly, type ReplyHandler, RequestChannel } from "./request_channel.ts";
import { RemoteFs } from "./remote_fs.ts";
import { throwIfError } from "./replies.ts";

export { CANCEL_REPLY_TIMEOUT_MS, type ReplyHandler } from "./request_channel.ts";
export type { RemoteChanges, RemoteExpectation, RemoteTree, RemoteTreeEntry } from "./remote_fs.ts";
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

/** A connection after a successful login: its request channel and the typed operations on it. */
export class ClientConnection extends RemoteFs {
  readonly serverName: string;
  readonly chunkSize: number;
  /** Both ends agreed to compress transfer chunks with zstd. */
  readonly compress: boolean;
  readonly sessionId: string;
  /** Who the server is, as the trust mode established it: a fingerprint when pinned. */
  readonly serverIdentity: string;
  /** Settles when the connection has ended. */
  readonly closedPromise: Promise<void>;

  private constructor(
    link: OpenedLink & { identity: string },
    sessionId: string,
    onNotice: (message: string) => void,
  ) {
    const channel = new RequestChannel(link, onNotice);
    const capabilities = link.welcome.capabilities;
    super(channel, capabilities, capabilities.includes(MODE_CAPABILITY));
    this.serverName = link.welcome.serverName;
    this.chunkSize = Math.min(link.welcome.chunkSize, DEFAULT_CHUNK_SIZE) || DEFAULT_CHUNK_SIZE;
    this.compress = link.compress && link.welcome.capabilities.includes(ZSTD_CAPABILITY);
    this.sessionId = sessionId;
    this.serverIdentity = link.identity;
    this.closedPromise = channel.closedPromise;
  }

  /** Connects, greets, waits in the queue if the server says so, and logs in. */
  static async open(options: ConnectOptions): Promise<ClientConnection> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const trust = options.trust ?? { kind: "pinned", knownHostsPath: defaultKnownHostsPath() };
    const { conn, identity } = await openTransport(options.host, options.port, trust, timeoutMs);
    const auth = (password: string) => encode(Messages.Auth, 0, { user: options.user, password });
    // A password at hand goes with the Hello: no round trip waiting for Welcome. One still to be
    // asked for is asked once the server has answered, so that a server that is not there or
    // refuses the Hello is said before anyone types.
    const early = typeof options.password === "string" ? auth(options.password) : undefined;
    const link = { ...await greet(conn, timeoutMs, options.compress ?? false, early), identity };
    try {
      if (early === undefined) {
        const password = typeof options.password === "string"
          ? options.password
          : await options.password();
        await link.writer.send(auth(password));
      }
      const authOk = await awaitLogin(link, options, timeoutMs);
      return new ClientConnection(link, authOk.sessionId, options.onNotice ?? (() => {}));
    } catch (error) {
      closeQuietly(link.conn);
      throw error;
    }
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.channel.closed;
  }

  /** Why the connection ended, once it has. */
  get closedReason(): Error | undefined {
    return this.channel.closedReason;
  }

  /** See {@link RequestChannel.exchange}. */
  exchange<T>(
    spec: MessageSpec<T>,
    value: T,
    onFrame: ReplyHandler,
    signal?: AbortSignal,
  ): Promise<void> {
    return this.channel.exchange(spec, value, onFrame, signal);
  }

  /** See {@link RequestChannel.call}. */
  call<T>(spec: MessageSpec<T>, value: T): Promise<Frame> {
    return this.channel.call(spec, value);
  }

  /** See {@link RequestChannel.sendFrame}. */
  sendFrame(frame: Uint8Array): Promise<void> {
    return this.channel.sendFrame(frame);
  }

  /** Told of each `Changed` the server sends while a `changes` watch is on. */
  set onChanged(listener: RequestChannel["onChanged"]) {
    this.channel.onChanged = listener;
  }

  /** Says goodbye and closes. Safe to call twice. */
  close(): Promise<void> {
    return this.channel.close();
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

/** Sends `Hello` (and `auth`, if given, in the same write), and reads `Welcome`. */
async function greet(
  conn: Deno.Conn,
  timeoutMs: number,
  compress: boolean,
  auth?: Uint8Array,
): Promise<OpenedLink> {
  const reader = new FrameReader(conn);
  const writer = new FrameWriter(conn);
  try {
    const hello = encode(Messages.Hello, 0, {
      magic: MAGIC,
      version: PROTOCOL_VERSION,
      software: `dfos-client`,
      capabilities: [
        "resume",
        "sha256",
        SYMLINK_CAPABILITY,
        MODE_CAPABILITY,
        ...(compress ? [ZSTD_CAPABILITY] : []),
      ],
    });
    await writer.send(auth === undefined ? hello : concatBytes(hello, auth));
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
