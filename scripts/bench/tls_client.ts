/**
 * The bare-TLS ceiling's client: `Deno.connect` + `Deno.startTls` pinned to
 * the server's certificate (as DFOS's client does), then one group of the
 * manifest up (`--op put`, reading under `--root`) or down (`--op get`,
 * writing under `--root`); `--sha256` hashes every byte on both ends and
 * checks each file's digest. See tls_stream.ts for the wire format.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-write scripts/bench/tls_client.ts \
 *   --port 40000 --ca cert.pem --name dfos-server.invalid --manifest manifest.json --op put --group 0 --root data/
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  encodeRequest,
  loadManifest,
  readFull,
  receiveFiles,
  sendFiles,
  writeAll,
} from "./tls_stream.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      ca: { type: "string" },
      name: { type: "string" },
      manifest: { type: "string" },
      op: { type: "string" },
      group: { type: "string", default: "0" },
      root: { type: "string" },
      sha256: { type: "boolean", default: false },
      help: { type: "boolean" },
    },
  });
  const op = values.op === "put" || values.op === "get" ? values.op : undefined;
  if (
    values.help || !values.port || !values.ca || !values.name || !values.manifest || !op ||
    !values.root
  ) {
    console.log(
      "usage: tls_client.ts --port N --ca PEM --name HOST --manifest JSON --op put|get --group N --root DIR [--sha256]",
    );
    return;
  }
  const manifest = await loadManifest(values.manifest);
  const group = Number(values.group);
  const files = manifest.groups[group];
  if (!files) throw new Error(`no group ${group} in ${values.manifest}`);
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: Number(values.port) });
  tcp.setNoDelay(true);
  const conn = await Deno.startTls(tcp, {
    hostname: values.name,
    caCerts: [await Deno.readTextFile(values.ca)],
  });
  await conn.handshake();
  const sha256 = values.sha256;
  await writeAll(conn, encodeRequest({ op, group, sha256 }));
  if (op === "put") {
    await sendFiles(conn, values.root, files, sha256);
    await readFull(conn, new Uint8Array(1));
  } else {
    await receiveFiles(conn, values.root, files, sha256);
  }
  conn.close();
}

if (import.meta.main) await main();
