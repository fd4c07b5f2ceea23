/**
 * Server-side TLS over a TCP connection the server accepted itself
 * (node:tls over a {@link ConnDuplex}), as a pull-based byte stream for
 * the frame reader and writer. The TCP connection stays in the server's
 * hands from accept to close, so a peer that never finishes the handshake
 * loses its descriptor the moment the server gives up on it.
 *
 * @module
 */

import tls from "node:tls";
import { noteBytesPassed } from "./buffer_reclaimer.ts";
import { ConnDuplex } from "./conn_duplex.ts";
import type { ServerStream } from "./server_stream.ts";

/**
 * TLS 1.3 only, with its standard suites (all forward-secret AEAD): every
 * DFOS client speaks it, so nothing older is offered.
 */
const TLS13_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
];

/**
 * A fatal `handshake_failure` alert in a plaintext TLS record: what a peer
 * whose handshake failed hears before the connection closes (a DFOS client
 * that did not expect TLS learns from it that the server speaks TLS).
 */
const HANDSHAKE_FAILURE_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

/** Decrypted bytes buffered for a reader before the socket is paused. */
const READ_AHEAD_BYTES = 512 * 1024;
/** How long a closing connection may take to send its close_notify before it is cut. */
const CLOSE_NOTIFY_MS = 2_000;

/** The server's TLS settings for a certificate (PEM, chain allowed) and its key. */
export function serverTlsContext(certPem: string, keyPem: string): tls.SecureContext {
  return tls.createSecureContext({
    cert: certPem,
    key: keyPem,
    minVersion: "TLSv1.3",
    ciphers: TLS13_CIPHERS.join(":"),
  });
}

/** A waiting {@link TlsServerStream.read}. */
interface PendingRead {
  buffer: Uint8Array;
  resolve: (count: number | null) => void;
  reject: (error: unknown) => void;
}

/** TLS as the server end of `conn`; the handshake starts at once. */
export class TlsServerStream implements ServerStream {
  #socket: tls.TLSSocket;
  #duplex: ConnDuplex;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #failure: unknown = undefined;
  #pending: PendingRead | undefined;
  #secure = false;
  #closed = false;

  constructor(conn: Deno.Conn, context: tls.SecureContext) {
    const duplex = new ConnDuplex(conn);
    // Until the handshake completes, a close that is not the server's own is a failed handshake.
    duplex.farewell = HANDSHAKE_FAILURE_ALERT;
    this.#duplex = duplex;
    this.#socket = new tls.TLSSocket(duplex, { isServer: true, secureContext: context });
    this.#socket.on("secure", () => {
      this.#secure = true;
      duplex.farewell = undefined;
    });
    this.#socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    this.#socket.on("end", () => this.#finish());
    this.#socket.on("close", () => this.#finish());
    this.#socket.on("error", (error: Error) => this.#finish(error));
  }

  /** Whether the TLS handshake has completed. */
  get secure(): boolean {
    return this.#secure;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#pending) return Promise.reject(new Error("a read is already waiting"));
    if (this.#chunks.length > 0) return Promise.resolve(this.#take(buffer));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.#pending = { buffer, resolve, reject });
  }

  /**
   * Writes `bytes` (resolving once TLS has taken them). Before the handshake
   * has completed there is nobody to tell anything: that fails at once, so a
   * refusal meant for a peer that never finished TLS does not wait.
   */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("connection closed"));
    if (!this.#secure) {
      return Promise.reject(new Deno.errors.NotConnected("the TLS handshake has not completed"));
    }
    noteBytesPassed(bytes.length);
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length));
    });
  }

  /**
   * Closes: after the handshake with a close_notify (bounded by
   * {@link CLOSE_NOTIFY_MS}), before it at once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#finish(new Deno.errors.BadResource("connection closed"));
    if (!this.#secure) {
      this.#duplex.farewell = undefined; // Given up on (a timeout, a full login stage): just close.
      this.#socket.destroy();
      return;
    }
    const cut = setTimeout(() => this.#socket.destroy(), CLOSE_NOTIFY_MS);
    this.#socket.end(() => {
      clearTimeout(cut);
      this.#socket.destroy();
    });
  }

  #onData(chunk: Uint8Array): void {
    noteBytesPassed(chunk.length);
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered >= READ_AHEAD_BYTES) this.#duplex.hold();
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    pending.resolve(this.#take(pending.buffer));
  }

  /** Copies buffered bytes into `buffer`; reads the socket again once the read-ahead has room. */
  #take(buffer: Uint8Array): number {
    let count = 0;
    while (count < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const part = Math.min(chunk.length, buffer.length - count);
      buffer.set(chunk.subarray(0, part), count);
      count += part;
      if (part === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    this.#buffered -= count;
    if (this.#buffered < READ_AHEAD_BYTES) this.#duplex.release();
    return count;
  }

  /** The stream ended (cleanly without `error`); a waiting read learns it. */
  #finish(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error !== undefined) this.#failure = error;
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    if (error !== undefined) pending.reject(error);
    else pending.resolve(null);
  }
}
