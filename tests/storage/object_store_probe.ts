/**
 * Run by object_store_test.ts as a subprocess with the server's permission
 * flags: uses an S3ObjectStore with the settings given as JSON in the first
 * argument (put, multipart, read, list, delete) and prints "done". Any
 * permission the AWS SDK needs beyond the server's fails it.
 *
 * @module
 */

import { MIN_PART_SIZE } from "../../src/storage/object/object_store.ts";
import { S3ObjectStore } from "../../src/storage/object/s3_object_store.ts";

const store = new S3ObjectStore(JSON.parse(Deno.args[0]));
await store.put("probe/small", new TextEncoder().encode("small"));
const uploadId = await store.createMultipartUpload("probe/large");
const parts = [
  {
    partNumber: 1,
    etag: await store.uploadPart("probe/large", uploadId, 1, new Uint8Array(MIN_PART_SIZE)),
  },
  { partNumber: 2, etag: await store.uploadPart("probe/large", uploadId, 2, new Uint8Array(1)) },
];
await store.listParts("probe/large", uploadId);
await store.completeMultipartUpload("probe/large", uploadId, parts);
const read = await store.read("probe/small", { offset: 1, length: 3 });
const middle = await new Response(read.body).text();
const keys = (await store.list("probe/")).entries.map((entry) => entry.key);
await store.listMultipartUploads("probe/");
await store.deleteMany(keys);
store.close();
console.log(middle === "mal" && keys.join(",") === "probe/large,probe/small" ? "done" : "wrong");
