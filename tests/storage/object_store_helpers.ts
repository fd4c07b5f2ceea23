/**
 * What the object-store tests share: stores on fresh buckets of the test
 * gateway, stream digests, failure checks, a relay that records requests,
 * and the permission flags of the program.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ObjectStoreServer } from "../helpers/ceph.ts";
import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import { ObjectStoreError } from "../../src/storage/object/object_store.ts";
import { S3ObjectStore } from "../../src/storage/object/s3_object_store.ts";
import { AWS_SDK_ENVIRONMENT_VARIABLES } from "../../src/storage/object/s3_client.ts";
import type { S3StoreSettings } from "../../src/storage/object/s3_settings.ts";
import type { Database } from "../../src/database/database.ts";

let bucketsMade = 0;

/** A store on a new bucket of `server` under `prefix`; `changes` alter its settings. */
export async function newStore(
  server: ObjectStoreServer,
  prefix = "team",
  changes: Partial<S3StoreSettings> = {},
): Promise<S3ObjectStore & { settings: S3StoreSettings }> {
  const bucket = `dfos-test-${++bucketsMade}`;
  await server.createBucket(bucket);
  return storeOn(server, { bucket, prefix, ...changes });
}

/** A store with the settings of `server` and `changes` (no bucket is made). */
export function storeOn(
  server: ObjectStoreServer,
  changes: Partial<S3StoreSettings> & { bucket: string },
): S3ObjectStore & { settings: S3StoreSettings } {
  const settings: S3StoreSettings = {
    prefix: "",
    endpoint: server.endpoint,
    region: server.region,
    pathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...changes,
  };
  return Object.assign(new S3ObjectStore(settings), { settings });
}

/** Reads a stream to its end, hashing it; its size, hash and how many chunks it came in. */
export async function digestStream(body: ReadableStream<Uint8Array>) {
  const hash = createHash("sha256");
  let size = 0;
  let chunks = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
    chunks++;
  }
  return { size, sha256: hash.digest("hex"), chunks };
}

/** The error `promise` rejects with, checked to be an ObjectStoreError of `kind`. */
export async function failure(promise: Promise<unknown>, kind: string): Promise<ObjectStoreError> {
  const error = await promise.then(() => undefined, (error) => error);
  assert.ok(error instanceof ObjectStoreError, `an ObjectStoreError, not ${error}`);
  assert.equal(error.kind, kind, error.message);
  return error;
}

/** A TCP relay to `port` on loopback that keeps what clients send (up to 1 MiB), to read their requests. */
export function startRecordingRelay(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const decoder = new TextDecoder("latin1");
  let sent = "";
  const pump = async (from: Deno.Conn, to: Deno.Conn, record: boolean) => {
    try {
      for await (const chunk of from.readable) {
        if (record && sent.length < 1024 * 1024) sent += decoder.decode(chunk);
        // Each write may take only part of what it is given: the rest follows from where it ended.
        for (let sent = 0; sent < chunk.length;) sent += await to.write(chunk.subarray(sent));
      }
    } catch { /* closed */ }
    for (const conn of [from, to]) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  const served = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port });
      pump(client, server, true);
      pump(server, client, false);
    }
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    /** The head (request line and headers, lowercased) of every request sent so far. */
    heads: () =>
      [...sent.matchAll(/^[A-Z]+ \S+ HTTP\/1\.1\r\n(?:[^\r\n]+\r\n)*/gm)].map((m) =>
        m[0].toLowerCase()
      ),
    async close() {
      listener.close();
      await served;
    },
  };
}

/** The server's permission flags, with the variables the AWS SDK reads whatever it is told. */
export function serverFlagsWithSdk(): string[] {
  return RUNTIME_FLAGS.map((flag) =>
    flag.startsWith("--allow-env=") ? `${flag},${AWS_SDK_ENVIRONMENT_VARIABLES.join(",")}` : flag
  );
}

/** Where this Deno keeps its module cache. */
export async function denoDir(): Promise<string> {
  const { stdout } = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
}

/** UTF-8 bytes of `value`. */
export const text = (value: string) => new TextEncoder().encode(value);

/** Bytes the database says are kept of unfinished uploads: completed parts and tails. */
export async function keptUploadBytes(database: Database): Promise<number> {
  const [row] = await database.run((sql) =>
    sql<{ kept: number }[]>`
      SELECT (SELECT coalesce(sum(size), 0) FROM upload_parts)
           + (SELECT coalesce(sum(o.size), 0) FROM uploads u JOIN objects o ON o.id = u.tail_object_id)
           AS kept`
  );
  return Number(row.kept);
}
