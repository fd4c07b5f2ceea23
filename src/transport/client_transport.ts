/**
 * How the client opens its byte stream to a server, by trust mode:
 *
 * - `pinned` (the default): TLS, trusting exactly the certificate remembered
 *   in the known-hosts file for this address (trust on first use, as SSH).
 * - `ca`: TLS, trusting certificates a given CA issued for the host name.
 * - `insecure`: plain TCP, only when asked for by name.
 *
 * A pinned connection verifies the certificate's own fixed name, not the
 * address typed, so an IP address works as well as a host name.
 *
 * @module
 */

import { ConnectionError, connectionLostReason } from "../client/errors.ts";
import { withTimeout } from "../client/timeout.ts";
import { certificateNames, derToPem, fingerprint } from "./certificate.ts";
import { hostAddress, type KnownHost, KnownHosts } from "./known_hosts.ts";

/** Asks the user whether to trust a new server; resolves true to trust and remember it. */
export type TrustPrompt = (address: string, fingerprint: string) => Promise<boolean>;

/** How to decide whom to trust. */
export type TrustMode =
  | { kind: "insecure" }
  | { kind: "ca"; caPem: string }
  | {
    kind: "pinned";
    knownHostsPath: string;
    /** Remember an unknown server without asking. */
    acceptNewHost?: boolean;
    /** The fingerprint the server must present ("SHA256:<hex>"). */
    expectedFingerprint?: string;
    /** Asks about an unknown server (given only when a terminal can answer). */
    prompt?: TrustPrompt;
  };

/** The server's identity could not be trusted; the message says why and what to do. */
export class TrustError extends ConnectionError {
  constructor(message: string) {
    super(message);
    this.name = "TrustError";
  }
}

/** An open connection, and who is at the other end as far as the trust mode can tell. */
export interface OpenedTransport {
  conn: Deno.Conn;
  /**
   * The server's identity: its certificate fingerprint (`SHA256:…`) when
   * pinned, `ca:HOST` when a CA vouched for the name, `tcp:HOST:PORT` without TLS.
   */
  identity: string;
}

/** Opens a connection to `host:port` secured according to `trust`. */
export async function openTransport(
  host: string,
  port: number,
  trust: TrustMode,
  timeoutMs: number,
): Promise<OpenedTransport> {
  if (trust.kind === "insecure") {
    return { conn: await connectTcp(host, port, timeoutMs), identity: `tcp:${host}:${port}` };
  }
  if (trust.kind === "ca") {
    const conn = await startTls(host, port, host, trust.caPem, timeoutMs).catch((error) => {
      if (!(error instanceof TlsVerificationError)) throw error;
      throw new TrustError(`the server's certificate is not valid for ${host}: ${error.message}`);
    });
    return { conn, identity: `ca:${host}` };
  }
  const address = hostAddress(host, port);
  const knownHosts = await KnownHosts.load(trust.knownHostsPath);
  const known = knownHosts.find(address);
  if (known && (trust.expectedFingerprint ?? known.fingerprint) === known.fingerprint) {
    // As remembered (and as --fingerprint says, if given): no look at the certificate
    // first, the pinned handshake itself refuses any other.
    const conn = await connectPinned(host, port, known, knownHosts.path, timeoutMs);
    return { conn, identity: known.fingerprint };
  }
  const presented = await probe(host, port, timeoutMs);
  const printed = fingerprint(presented);
  if (known && known.fingerprint !== printed) {
    throw identityChanged(address, known, printed, knownHosts.path);
  }
  await decideOnNewHost(address, printed, trust);
  const name = pinnedName(presented, host);
  if (!trust.expectedFingerprint) await knownHosts.add(address, presented, name);
  return {
    conn: await startTls(host, port, name, derToPem(presented), timeoutMs),
    identity: printed,
  };
}

async function decideOnNewHost(
  address: string,
  printed: string,
  trust: Extract<TrustMode, { kind: "pinned" }>,
): Promise<void> {
  if (trust.expectedFingerprint) {
    if (trust.expectedFingerprint === printed) return;
    throw new TrustError(
      `the server presented ${printed}, not the expected ${trust.expectedFingerprint}; refusing to connect`,
    );
  }
  if (trust.acceptNewHost) return;
  if (trust.prompt && await trust.prompt(address, printed)) return;
  throw new TrustError(
    `unknown server, certificate fingerprint ${printed}; check it with the server's operator, ` +
      `then connect with --fingerprint ${printed} or --accept-new-host to remember it`,
  );
}

async function connectPinned(
  host: string,
  port: number,
  known: KnownHost,
  knownHostsPath: string,
  timeoutMs: number,
): Promise<Deno.Conn> {
  try {
    const name = known.name ?? pinnedName(known.der, host);
    return await startTls(host, port, name, derToPem(known.der), timeoutMs);
  } catch (error) {
    if (!(error instanceof TlsVerificationError)) throw error;
    const printed = fingerprint(await probe(host, port, timeoutMs));
    if (printed !== known.fingerprint) {
      throw identityChanged(hostAddress(host, port), known, printed, knownHostsPath);
    }
    throw new TrustError(`the server's certificate failed verification: ${error.message}`);
  }
}

function identityChanged(address: string, known: KnownHost, printed: string, path: string) {
  return new TrustError(
    [
      `SERVER IDENTITY CHANGED for ${address}: refusing to connect.`,
      `  remembered: ${known.fingerprint}`,
      `  presented:  ${printed}`,
      "  Someone may be intercepting the connection, or the server's certificate was replaced.",
      `  If you know it was replaced, remove line ${known.line} of ${path} and connect again.`,
    ].join("\n"),
  );
}

/** The name to verify in a pinned certificate: its first DNS name, else the address typed. */
function pinnedName(der: Uint8Array, host: string): string {
  return certificateNames(der)[0] ?? host;
}

async function probe(host: string, port: number, timeoutMs: number): Promise<Uint8Array> {
  try {
    // Loaded for a first contact only: node:tls and node:net cost every other start about 5 ms.
    const { fetchServerCertificate } = await import("./certificate_probe.ts");
    return await fetchServerCertificate(host, port, timeoutMs);
  } catch (error) {
    const address = hostAddress(host, port);
    const code = (error as { code?: string }).code ?? "";
    if (UNREACHABLE.has(code)) {
      throw new ConnectionError(`cannot connect to ${address}: ${messageOf(error)}`);
    }
    throw new ConnectionError(
      `cannot complete a TLS handshake with ${address}: ${messageOf(error)}${NOT_TLS_HINT}`,
    );
  }
}

/** Socket errors that mean nobody answered, as opposed to a failed handshake. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

const NOT_TLS_HINT = " (if the server runs with --insecure-no-tls, use --insecure-no-tls too)";

/** A certificate that did not verify, as opposed to a peer that does not speak TLS. */
class TlsVerificationError extends Error {}

async function startTls(
  host: string,
  port: number,
  name: string,
  caPem: string,
  timeoutMs: number,
): Promise<Deno.Conn> {
  const tcp = await connectTcp(host, port, timeoutMs);
  try {
    const secured = await Deno.startTls(tcp, { hostname: name, caCerts: [caPem] });
    await withTimeout(secured.handshake(), timeoutMs, "the TLS handshake");
    return secured;
  } catch (error) {
    try {
      tcp.close();
    } catch { /* consumed or closed */ }
    const message = messageOf(error);
    if (/certificate|UnknownIssuer|BadSignature|NotValidForName|Expired/i.test(message)) {
      throw new TlsVerificationError(message);
    }
    throw new ConnectionError(
      `TLS handshake with ${hostAddress(host, port)} failed: ${
        connectionLostReason(error)
      }${NOT_TLS_HINT}`,
    );
  }
}

async function connectTcp(host: string, port: number, timeoutMs: number): Promise<Deno.TcpConn> {
  try {
    const hostname = host.replace(/^\[|\]$/g, "");
    const conn = await withTimeout(Deno.connect({ hostname, port }), timeoutMs, "connecting");
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    throw new ConnectionError(`cannot connect to ${hostAddress(host, port)}: ${messageOf(error)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
