/**
 * The object store's own ceiling on this machine, without DFOS: 1 GiB sent
 * to radosgw (memstore, as the benchmark starts it) in 8 MiB parts with 1, 2
 * and 4 parts in flight, then 512 MiB read back in one GET. What limits
 * DFOS on the object store (BENCHMARKS.md).
 *
 * ```sh
 * ./scripts/deno run -A scripts/bench/store_ceiling.ts
 * ```
 *
 * @module
 */
import { startObjectStore } from "../../tests/helpers/ceph.ts";
import { S3ObjectStore } from "../../src/storage/object/s3_object_store.ts";
Deno.env.set("CEPH_ARGS", "--memstore_device_bytes=4294967296");
await using server = await startObjectStore();
await server.createBucket("probe");
const store = new S3ObjectStore({
  bucket: "probe",
  prefix: "",
  endpoint: server.endpoint,
  region: server.region,
  pathStyle: true,
  credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
});
const part = new Uint8Array(8 << 20).map((_, i) => i * 7);
for (const inFlight of [1, 2, 4]) {
  const key = `k${inFlight}`;
  const id = await store.createMultipartUpload(key);
  const start = performance.now();
  let next = 1;
  const worker = async () => {
    while (next <= 128) await store.uploadPart(key, id, next++, part);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const s = (performance.now() - start) / 1000;
  console.log(`in flight ${inFlight}: 1 GiB in ${s.toFixed(2)} s = ${(1024 / s).toFixed(1)} MiB/s`);
  await store.abortMultipartUpload(key, id);
}
const key = "whole";
const id = await store.createMultipartUpload(key);
const parts = [];
for (let n = 1; n <= 64; n++) {
  parts.push({ partNumber: n, etag: await store.uploadPart(key, id, n, part) });
}
await store.completeMultipartUpload(key, id, parts);
const start = performance.now();
const { body } = await store.read(key);
let size = 0;
for await (const chunk of body) size += chunk.length;
const s = (performance.now() - start) / 1000;
console.log(`read ${size >> 20} MiB in ${s.toFixed(2)} s = ${((size >> 20) / s).toFixed(1)} MiB/s`);
