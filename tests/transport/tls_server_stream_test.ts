import assert from "node:assert/strict";
import { createSelfSignedCertificate } from "../../src/transport/certificate_x509.ts";
import { SERVER_CERT_NAME } from "../../src/transport/certificate.ts";
import { serverTlsContext, TlsServerStream } from "../../src/transport/tls_server_stream.ts";
import { writeAll } from "../../src/protocol/frame_writer.ts";
import { seededBytes } from "../helpers/files.ts";
import { within } from "../helpers/processes.ts";

const { certPem, keyPem } = await createSelfSignedCertificate();
const context = serverTlsContext(certPem, keyPem);

/** A listener on loopback whose accepted connections become TlsServerStreams. */
async function pair(): Promise<{ server: TlsServerStream; client: Deno.TcpConn }> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = new TlsServerStream(await listener.accept(), context);
  return { server, client: await client };
}

function startTls(conn: Deno.TcpConn): Promise<Deno.TlsConn> {
  return Deno.startTls(conn, { hostname: SERVER_CERT_NAME, caCerts: [certPem] });
}

/** Everything the peer sends until it closes (a reset counts as a close). */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) break;
    parts.push(buffer.slice(0, count));
  }
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

async function readExactly(stream: TlsServerStream, length: number): Promise<Uint8Array> {
  const result = new Uint8Array(length);
  let offset = 0;
  while (offset < length) {
    const count = await stream.read(result.subarray(offset));
    assert.notEqual(count, null, `the stream ended after ${offset} of ${length} bytes`);
    offset += count!;
  }
  return result;
}

Deno.test("bytes cross a TlsServerStream both ways intact, and close ends the peer's stream cleanly", async () => {
  const { server, client } = await pair();
  const tls = await startTls(client);
  const upload = seededBytes(3 * 1024 * 1024 + 7, 5);
  const sent = writeAll(tls, upload);
  assert.deepEqual(await readExactly(server, upload.length), upload);
  await sent;
  assert.ok(server.secure);
  const download = seededBytes(2 * 1024 * 1024 + 3, 6);
  const received = readAll(tls);
  for (let offset = 0; offset < download.length; offset += 300_000) {
    const part = download.subarray(offset, offset + 300_000);
    assert.equal(await server.write(part), part.length);
  }
  server.close();
  assert.deepEqual(await within(received, 10_000, "download"), download);
  tls.close();
});

Deno.test("a stream given up on before its handshake closes at once: the silent peer sees the end, no alert", async () => {
  const { server, client } = await pair();
  await assert.rejects(server.write(Uint8Array.of(1)), Deno.errors.NotConnected);
  const pending = server.read(new Uint8Array(10)).then(() => undefined, (error) => error);
  server.close();
  assert.ok(await pending instanceof Deno.errors.BadResource, "a waiting read learns of the close");
  assert.deepEqual(await within(readAll(client), 5_000, "the end"), new Uint8Array(0));
  client.close();
});

Deno.test("a peer that does not speak TLS gets a fatal alert, then the end; the reader sees an error", async () => {
  const { server, client } = await pair();
  const reading = server.read(new Uint8Array(10)).then(() => undefined, (error) => error);
  await writeAll(client, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
  const heard = await within(readAll(client), 5_000, "the alert");
  assert.deepEqual(heard, Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28));
  assert.match(String(await reading), /corrupt message|wrong version/);
  server.close();
  client.close();
});

Deno.test("the peer leaving ends the reader with null", async () => {
  const { server, client } = await pair();
  const tls = await startTls(client);
  await writeAll(tls, Uint8Array.of(1, 2, 3));
  assert.deepEqual(await readExactly(server, 3), Uint8Array.of(1, 2, 3));
  tls.close();
  assert.equal(await within(server.read(new Uint8Array(10)), 5_000, "the end"), null);
  server.close();
});
