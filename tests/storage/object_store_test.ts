/**
 * S3ObjectStore against a real S3 gateway (Ceph's radosgw, started once for
 * this file; a bucket per case): every operation, multipart uploads resumed
 * through another client, ranged streaming reads, deletes, paged listings,
 * and the errors a caller must tell apart.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { OBJECT_STORE_MISSING, startObjectStore } from "../helpers/ceph.ts";
import { seededBytes, sha256 } from "../helpers/files.ts";
import { within } from "../helpers/processes.ts";
import { MIN_PART_SIZE } from "../../src/storage/object/object_store.ts";
import { multipartEtag } from "../../src/storage/object/s3_values.ts";
import {
  denoDir,
  digestStream,
  failure,
  newStore,
  serverFlagsWithSdk,
  startRecordingRelay,
  storeOn,
  text,
} from "./object_store_helpers.ts";

Deno.test({
  name: "S3ObjectStore on Ceph's radosgw",
  ignore: OBJECT_STORE_MISSING !== undefined,
  async fn(t) {
    await using server = await startObjectStore();

    await t.step("put, then head and read give the bytes, size and MD5 tag", async () => {
      const store = await newStore(server);
      const bytes = seededBytes(100_000, 3);
      await store.put("objects/a1", bytes);
      const head = await store.head("objects/a1");
      assert.equal(head.size, bytes.length);
      assert.equal(head.etag, createHash("md5").update(bytes).digest("hex"));
      assert.ok(Math.abs(head.lastModifiedMs - Date.now()) < 60_000);
      const read = await store.read("objects/a1");
      assert.equal(read.size, bytes.length);
      assert.equal((await digestStream(read.body)).sha256, sha256(bytes));
      store.close();
    });

    await t.step("ranged reads stream the bytes asked for and give the whole size", async () => {
      const store = await newStore(server);
      const bytes = seededBytes(6 * 1024 * 1024, 4);
      await store.put("big", bytes);
      const middle = await store.read("big", { offset: 1000, length: 5000 });
      assert.equal(middle.size, bytes.length);
      assert.deepEqual(
        new Uint8Array(await new Response(middle.body).arrayBuffer()),
        bytes.subarray(1000, 6000),
      );
      const tail = await store.read("big", { offset: bytes.length - 10 });
      assert.deepEqual(
        new Uint8Array(await new Response(tail.body).arrayBuffer()),
        bytes.subarray(-10),
      );
      const none = await store.read("big", { offset: 5, length: 0 });
      assert.equal(none.size, bytes.length);
      assert.equal((await digestStream(none.body)).size, 0);
      const whole = await digestStream((await store.read("big", { offset: 1 })).body);
      assert.equal(whole.sha256, sha256(bytes.subarray(1)));
      assert.ok(whole.chunks > 1, `6 MiB arrived in ${whole.chunks} chunk(s), not streamed`);
      await assert.rejects(() => store.read("big", { offset: -1 }), RangeError);
      store.close();
    });

    await t.step(
      "a multipart upload interrupted after one part resumes from another client",
      async () => {
        const first = await newStore(server);
        const bytes = seededBytes(MIN_PART_SIZE + 1024 * 1024, 5);
        const uploadId = await first.createMultipartUpload("objects/big");
        const tag1 = await first.uploadPart(
          "objects/big",
          uploadId,
          1,
          bytes.subarray(0, MIN_PART_SIZE),
        );
        first.close();
        // Another node: a client of its own, knowing only the key and the upload id.
        const second = storeOn(server, first.settings);
        const stored = await second.listParts("objects/big", uploadId);
        assert.deepEqual(stored, [{ partNumber: 1, etag: tag1, size: MIN_PART_SIZE }]);
        const tag2 = await second.uploadPart(
          "objects/big",
          uploadId,
          2,
          bytes.subarray(MIN_PART_SIZE),
        );
        const etag = await second.completeMultipartUpload("objects/big", uploadId, [
          ...stored,
          { partNumber: 2, etag: tag2 },
        ]);
        assert.equal(etag, multipartEtag([{ etag: tag1 }, { etag: tag2 }]));
        // A second completion (its first reply lost, say) gives the same object, not an error.
        const parts = [...stored, { partNumber: 2, etag: tag2 }];
        assert.equal(await second.completeMultipartUpload("objects/big", uploadId, parts), etag);
        const head = await second.head("objects/big");
        assert.deepEqual([head.size, head.etag], [bytes.length, etag]);
        const read = await digestStream((await second.read("objects/big")).body);
        assert.equal(read.sha256, sha256(bytes));
        assert.deepEqual((await second.listMultipartUploads("")).entries, []);
        second.close();
      },
    );

    await t.step(
      "an aborted multipart upload is gone: its parts, its listing, its completion",
      async () => {
        const store = await newStore(server);
        const uploadId = await store.createMultipartUpload("objects/x");
        const tag = await store.uploadPart("objects/x", uploadId, 1, text("part"));
        await store.abortMultipartUpload("objects/x", uploadId);
        assert.deepEqual((await store.listMultipartUploads("")).entries, []);
        await failure(store.listParts("objects/x", uploadId), "not-found");
        // AWS says NoSuchUpload, radosgw 16 an InternalError: both are not-found here.
        const completion = await failure(
          store.completeMultipartUpload("objects/x", uploadId, [{ partNumber: 1, etag: tag }]),
          "not-found",
        );
        assert.match(completion.message, /the upload no longer exists/);
        await store.abortMultipartUpload("objects/x", uploadId); // Again: no error.
        await failure(store.head("objects/x"), "not-found");
        await assert.rejects(
          () => store.uploadPart("objects/x", uploadId, 0, text("")),
          RangeError,
        );
        store.close();
      },
    );

    await t.step(
      "unfinished uploads are listed under a prefix, with their start, in pages",
      async () => {
        const store = await newStore(server);
        const before = Date.now() - 60_000;
        const ids = [];
        for (const key of ["up/a", "up/b", "up/c", "other/d"]) {
          ids.push(await store.createMultipartUpload(key));
        }
        const pages = [];
        let after: string | undefined;
        do {
          const page = await store.listMultipartUploads("up/", { limit: 2, after });
          pages.push(page.entries.map((upload) => upload.key));
          for (const upload of page.entries) assert.ok(upload.initiatedMs > before);
          after = page.next;
        } while (after !== undefined);
        assert.deepEqual(pages, [["up/a", "up/b"], ["up/c"]]);
        const all = (await store.listMultipartUploads("")).entries;
        assert.deepEqual(all.map((upload) => upload.uploadId).sort(), [...ids].sort());
        store.close();
      },
    );

    await t.step("deletes remove one or many objects, and a missing key is no error", async () => {
      const store = await newStore(server);
      for (const key of ["d/1", "d/2", "d/3", "d/4"]) await store.put(key, text(key));
      await store.delete("d/1");
      await store.delete("d/1");
      await store.deleteMany(["d/2", "d/3", "d/never"]);
      await store.deleteMany([]);
      assert.deepEqual((await store.list("d/")).entries.map((object) => object.key), ["d/4"]);
      store.close();
    });

    await t.step("listings page through keys in order, only under the store's prefix", async () => {
      const store = await newStore(server, "team/a");
      const neighbour = storeOn(server, { ...store.settings, prefix: "team/ab" });
      await neighbour.put("k0", text("not ours"));
      for (const key of ["k1", "k2", "k3", "k4", "k5", "z/k6"]) await store.put(key, text(key));
      const pages = [];
      let after: string | undefined;
      do {
        const page = await store.list("k", { limit: 2, after });
        pages.push(page.entries.map((object) => `${object.key}:${object.size}`));
        after = page.next;
      } while (after !== undefined);
      assert.deepEqual(pages, [["k1:2", "k2:2"], ["k3:2", "k4:2"], ["k5:2"]]);
      assert.equal((await store.list("")).entries.length, 6);
      assert.deepEqual((await neighbour.list("")).entries.map((object) => object.key), ["k0"]);
      neighbour.close();
      store.close();
    });

    await t.step("keys that could leave the prefix are refused before any request", async () => {
      const store = await newStore(server);
      for (const key of ["", "/abs", "a/../b", "..", "a\nb", "a\\b", "x".repeat(1100)]) {
        await assert.rejects(() => store.put(key, text("x")), TypeError, JSON.stringify(key));
      }
      await assert.rejects(() => store.list("/"), TypeError);
      assert.deepEqual((await store.list("")).entries, []);
      store.close();
    });

    await t.step("a missing key or bucket is not-found, named with the store and key", async () => {
      const store = await newStore(server);
      const error = await failure(store.head("objects/none"), "not-found");
      assert.match(error.message, new RegExp(`^${server.endpoint} bucket dfos-test-\\d+/team: `));
      assert.match(error.message, /"objects\/none"/);
      await failure(store.read("objects/none"), "not-found");
      const noBucket = storeOn(server, { bucket: "dfos-no-such-bucket" });
      await failure(noBucket.put("a", text("a")), "not-found");
      noBucket.close();
      store.close();
    });

    await t.step("wrong credentials are refused, and the message holds no secret", async () => {
      const store = await newStore(server);
      const secretAccessKey = "wrong-secret-never-shown";
      const wrong = storeOn(server, {
        ...store.settings,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey },
      });
      const error = await failure(wrong.put("a", text("a")), "refused");
      assert.ok(!error.message.includes(secretAccessKey), error.message);
      assert.ok(!error.message.includes(server.secretAccessKey), error.message);
      assert.equal(error.retryable, false);
      const unknown = storeOn(server, {
        ...store.settings,
        credentials: { accessKeyId: "NOSUCHKEY", secretAccessKey },
      });
      await failure(unknown.list(""), "refused");
      assert.deepEqual((await store.list("")).entries, []);
      for (const client of [wrong, unknown, store]) client.close();
    });

    await t.step(
      "a stopped gateway fails clearly and retryably; the store serves once it is back",
      async () => {
        const store = await newStore(server, "team", { maxAttempts: 1 });
        await store.put("kept", text("kept"));
        await server.stopGateway();
        try {
          const error = await within(failure(store.head("kept"), "unreachable"), 10_000, "head");
          assert.equal(error.retryable, true);
          assert.match(error.message, /unreachable/);
          assert.ok(error.message.startsWith(store.description), error.message);
        } finally {
          await server.startGateway();
        }
        assert.equal((await store.head("kept")).size, 4);
        store.close();
      },
    );

    await t.step(
      "a gateway that accepts but never answers fails within the request timeout",
      async () => {
        const store = await newStore(server, "team", {
          maxAttempts: 1,
          requestTimeoutMs: 1_000,
          idleTimeoutMs: 2_000,
        });
        server.pauseGateway();
        try {
          await within(failure(store.put("a", text("a")), "unreachable"), 10_000, "put");
          await within(failure(store.read("a"), "unreachable"), 10_000, "read");
        } finally {
          server.resumeGateway();
        }
        await store.put("b", text("b"));
        assert.equal((await store.head("b")).size, 1);
        store.close();
      },
    );
    await t.step(
      "a read whose gateway falls silent mid-stream fails within the idle timeout",
      async () => {
        const store = await newStore(server, "team", { maxAttempts: 1, idleTimeoutMs: 1_000 });
        // More than loopback's buffers hold (a receiver's may grow to 32 MiB here), so the rest is unsent.
        const size = 72 * 1024 * 1024;
        await store.put("big", new Uint8Array(size));
        const reader = (await store.read("big")).body.getReader();
        let received = (await reader.read()).value?.length ?? 0;
        server.pauseGateway();
        try {
          const drained = (async () => {
            for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
              received += chunk.value.length;
            }
          })();
          const error = await within(failure(drained, "unreachable"), 10_000, "the stream");
          assert.match(error.message, /read of "big" failed/);
          assert.ok(received < size, `${received} of ${size} bytes arrived`);
        } finally {
          server.resumeGateway();
        }
        assert.equal((await store.head("big")).size, size);
        store.close();
      },
    );

    await t.step(
      "puts and parts carry no checksum the operation does not require, nor a payload hash on loopback",
      async () => {
        const store = await newStore(server);
        const relay = startRecordingRelay(Number(new URL(server.endpoint).port));
        const relayed = storeOn(server, { ...store.settings, endpoint: relay.endpoint });
        try {
          await relayed.put("plain", text("plain"));
          const uploadId = await relayed.createMultipartUpload("parts");
          await relayed.uploadPart("parts", uploadId, 1, text("part"));
          await relayed.abortMultipartUpload("parts", uploadId);
          const puts = relay.heads().filter((head) => head.startsWith("put "));
          assert.equal(puts.length, 2, relay.heads().join("\n"));
          for (const head of puts) {
            assert.doesNotMatch(
              head,
              /x-amz-checksum-|x-amz-sdk-checksum-algorithm|aws-chunked/,
              head,
            );
            // On loopback nothing can change the bytes: no second SHA-256 pass for the signature.
            assert.match(head, /\r\nx-amz-content-sha256: unsigned-payload\r\n/, head);
          }
        } finally {
          relayed.close();
          store.close();
          await relay.close();
        }
      },
    );

    await t.step(
      "works under the server's permissions and the SDK's few variables, whatever ~/.aws says",
      async () => {
        const store = await newStore(server);
        const home = await Deno.makeTempDir({ prefix: "dfos-aws-home-" });
        try {
          // Settings that would break the store if the SDK read them instead of those given.
          await Deno.mkdir(`${home}/.aws`);
          const bad = "[default]\nregion = nowhere-1\nendpoint_url = http://127.0.0.1:9\n" +
            "aws_access_key_id = WRONG\naws_secret_access_key = WRONG\n";
          await Deno.writeTextFile(`${home}/.aws/config`, bad);
          await Deno.writeTextFile(`${home}/.aws/credentials`, bad);
          const probe = new URL("./object_store_probe.ts", import.meta.url).pathname;
          const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "--quiet",
              ...serverFlagsWithSdk(),
              probe,
              JSON.stringify(store.settings),
            ],
            env: {
              HOME: home,
              DENO_DIR: await denoDir(), // Else the new HOME means an empty module cache.
              AWS_REGION: "nowhere-1",
              AWS_ENDPOINT_URL: "http://127.0.0.1:9",
            },
            stdout: "piped",
            stderr: "piped",
            signal: AbortSignal.timeout(60_000),
          }).output();
          const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
          assert.equal(code, 0, output);
          assert.equal(output.trim(), "done");
        } finally {
          await Deno.remove(home, { recursive: true });
          store.close();
        }
      },
    );
  },
});

if (OBJECT_STORE_MISSING !== undefined) console.warn(`object_store_test: ${OBJECT_STORE_MISSING}`);
