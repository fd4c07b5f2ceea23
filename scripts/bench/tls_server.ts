/**
 * The bare-TLS ceiling's server: `Deno.listenTls` on 127.0.0.1 with a given
 * certificate, serving the groups of a manifest (see tls_stream.ts) until
 * it is killed. Prints `PORT <n>` once it listens.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-write scripts/bench/tls_server.ts \
 *   --cert cert.pem --key key.pem --manifest manifest.json --root remote/
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  decodeRequest,
  loadManifest,
  type Manifest,
  readFull,
  receiveFiles,
  REQUEST_BYTES,
  sendFiles,
  writeAll,
} from "./tls_stream.ts";

async function serve(conn: Deno.Conn, manifest: Manifest, root: string): Promise<void> {
  try {
    const request = new Uint8Array(REQUEST_BYTES);
    await readFull(conn, request);
    const { op, group, sha256 } = decodeRequest(request);
    const files = manifest.groups[group];
    if (!files) throw new Error(`no group ${group}`);
    if (op === "put") {
      await receiveFiles(conn, root, files, sha256);
      await writeAll(conn, new Uint8Array([1]));
    } else {
      await sendFiles(conn, root, files, sha256);
    }
  } catch (error) {
    console.error(`tls_server: ${error instanceof Error ? error.message : error}`);
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cert: { type: "string" },
      key: { type: "string" },
      manifest: { type: "string" },
      root: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help || !values.cert || !values.key || !values.manifest || !values.root) {
    console.log("usage: tls_server.ts --cert PEM --key PEM --manifest JSON --root DIR");
    return;
  }
  const manifest = await loadManifest(values.manifest);
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(values.cert),
    key: await Deno.readTextFile(values.key),
  });
  console.log(`PORT ${(listener.addr as Deno.NetAddr).port}`);
  for await (const conn of listener) serve(conn, manifest, values.root);
}

if (import.meta.main) await main();
