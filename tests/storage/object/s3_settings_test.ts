/**
 * The standard AWS environment variables as settings of an S3 store, the
 * mapping of S3 client failures to kinds, and the keys under a prefix.
 */

import assert from "node:assert/strict";
import { s3SettingsFromEnvironment } from "../../../src/storage/object/s3_settings.ts";
import { kindOfS3Error, toObjectStoreError } from "../../../src/storage/object/s3_errors.ts";
import { S3Keys } from "../../../src/storage/object/s3_keys.ts";
import { ObjectStoreError } from "../../../src/storage/object/object_store.ts";

const from = (variables: Record<string, string>) =>
  s3SettingsFromEnvironment((name) => variables[name]);

Deno.test("the AWS variables give region, endpoint and credentials; the specific ones win", () => {
  assert.deepEqual(
    from({
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
      AWS_REGION: "eu-west-3",
      AWS_DEFAULT_REGION: "us-west-2",
      AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:7480",
    }),
    {
      options: { region: "eu-west-3", endpoint: "http://127.0.0.1:7480" },
      credentials: { accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token" },
    },
  );
  assert.deepEqual(from({ AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: "http://h" }), {
    options: { region: "us-west-2", endpoint: "http://h" },
  });
  assert.deepEqual(from({ AWS_REGION: "", AWS_ACCESS_KEY_ID: "" }), { options: {} });
});

Deno.test("a key without its secret, or a secret without its key, is refused", () => {
  assert.throws(() => from({ AWS_ACCESS_KEY_ID: "AKID" }), /must be set together/);
  assert.throws(() => from({ AWS_SECRET_ACCESS_KEY: "secret" }), /must be set together/);
});

Deno.test("client failures map to kinds by reply code, network code and HTTP status", () => {
  const cases: [unknown, string][] = [
    [{ name: "NoSuchKey" }, "not-found"],
    [{ name: "NotFound", $metadata: { httpStatusCode: 404 } }, "not-found"],
    [{ Code: "NoSuchUpload" }, "not-found"],
    [{ name: "InvalidAccessKeyId" }, "refused"],
    [{ name: "SignatureDoesNotMatch" }, "refused"],
    [{ name: "Unknown", $metadata: { httpStatusCode: 403 } }, "refused"],
    [{ code: "ECONNREFUSED" }, "unreachable"],
    [{ name: "TimeoutError" }, "unreachable"],
    [{ name: "AbortError" }, "unreachable"],
    [{ name: "SlowDown", $metadata: { httpStatusCode: 503 } }, "unreachable"],
    [{ name: "Weird", $metadata: { httpStatusCode: 502 } }, "unreachable"],
    [{ name: "InvalidRange", $metadata: { httpStatusCode: 416 } }, "other"],
    ["a string", "other"],
  ];
  for (const [error, kind] of cases) {
    assert.equal(kindOfS3Error(error), kind, JSON.stringify(error));
  }
});

Deno.test("an error's message names the store and what failed, never the secrets", () => {
  const error = toObjectStoreError(
    { name: "AccessDenied", message: "signature of s3cr3t did not match" },
    "http://127.0.0.1:7480 bucket files/team",
    'put of "a1"',
    ["s3cr3t", ""],
  );
  assert.ok(error instanceof ObjectStoreError);
  assert.equal(error.kind, "refused");
  assert.equal(error.retryable, false);
  assert.equal(
    error.message,
    'http://127.0.0.1:7480 bucket files/team: put of "a1" failed: the object store refused the ' +
      "credentials or the access (AccessDenied: signature of [secret] did not match)",
  );
  assert.equal(toObjectStoreError(error, "elsewhere", "other", []), error);
});

Deno.test("keys stay under the prefix: joined, listed back and checked", () => {
  const keys = new S3Keys("team/a");
  assert.equal(keys.full("x/y"), "team/a/x/y");
  assert.equal(keys.listPrefix(""), "team/a/");
  assert.equal(keys.relative("team/a/x/y"), "x/y");
  assert.equal(new S3Keys("").full("x"), "x");
  for (const key of ["", "/x", "x/../y", "..", "x/.", "a\u0000b", "a\\b", "k".repeat(1020)]) {
    assert.throws(() => keys.full(key), TypeError, JSON.stringify(key));
  }
});
