/**
 * The settings of `--storage s3://…` from the flags, the AWS variables and a
 * credentials file: flags win, the file wins over the variables, and every
 * bad input is refused with a message that never holds a secret.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readCredentialsFile,
  s3StoreSettings,
} from "../../../src/storage/object/s3_configuration.ts";
import { storageProviderFor } from "../../../src/storage/storage_location.ts";
import { LocalStorageProvider } from "../../../src/storage/local_provider.ts";

const SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";

const environment = (variables: Record<string, string>) => (name: string) => variables[name];

async function withFile(text: string, body: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-s3-config-" });
  try {
    const path = join(dir, "credentials");
    await Deno.writeTextFile(path, text);
    await body(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts `promise` rejects with a message matching `pattern` and not holding the secret. */
async function refused(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(() => undefined, (error) => error as Error);
  assert.ok(error instanceof Error, "refused");
  assert.match(error.message, pattern);
  assert.ok(!error.message.includes(SECRET), `no secret in: ${error.message}`);
}

Deno.test("flags win over the AWS variables, which give what the flags leave out", async () => {
  const variables = environment({
    AWS_ACCESS_KEY_ID: "AKID",
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_REGION: "eu-west-3",
    AWS_ENDPOINT_URL: "http://127.0.0.1:1",
  });
  const fromVariables = await s3StoreSettings("s3://files/team", {}, variables);
  assert.deepEqual(fromVariables, {
    bucket: "files",
    prefix: "team",
    endpoint: "http://127.0.0.1:1",
    region: "eu-west-3",
    pathStyle: true,
    credentials: { accessKeyId: "AKID", secretAccessKey: SECRET },
  });
  const fromFlags = await s3StoreSettings(
    "s3://files",
    { endpoint: "http://127.0.0.1:7480", region: "us-west-2" },
    variables,
  );
  assert.equal(fromFlags.endpoint, "http://127.0.0.1:7480");
  assert.equal(fromFlags.region, "us-west-2");
  const onAws = await s3StoreSettings(
    "s3://files",
    { pathStyle: true },
    environment({
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: SECRET,
    }),
  );
  assert.equal(onAws.endpoint, undefined);
  assert.equal(onAws.pathStyle, true);
});

Deno.test("a credentials file gives the keys, over the variables, in either spelling", async () => {
  const text = `# the store's keys\n[default]\naws_access_key_id = FILEKEY\n` +
    `aws_secret_access_key=${SECRET}\n\n; done\n`;
  await withFile(text, async (path) => {
    assert.deepEqual(await readCredentialsFile(path), {
      accessKeyId: "FILEKEY",
      secretAccessKey: SECRET,
    });
    const settings = await s3StoreSettings(
      "s3://files",
      { credentialsFile: path },
      environment({ AWS_ACCESS_KEY_ID: "ENVKEY", AWS_SECRET_ACCESS_KEY: "other" }),
    );
    assert.equal(settings.credentials.accessKeyId, "FILEKEY");
  });
  await withFile(
    `ACCESS_KEY_ID = K\nSECRET_ACCESS_KEY = ${SECRET}\nsession_token = T\n`,
    async (path) => {
      assert.deepEqual(await readCredentialsFile(path), {
        accessKeyId: "K",
        secretAccessKey: SECRET,
        sessionToken: "T",
      });
    },
  );
});

Deno.test("missing, partial or malformed credentials are refused without showing a secret", async () => {
  await refused(
    s3StoreSettings("s3://files", {}, environment({})),
    /no credentials for the object store: set AWS_ACCESS_KEY_ID/,
  );
  await refused(
    s3StoreSettings("s3://files", {}, environment({ AWS_SECRET_ACCESS_KEY: SECRET })),
    /must be set together/,
  );
  await withFile(
    `aws_secret_access_key = ${SECRET}\n`,
    (path) =>
      refused(readCredentialsFile(path), /must give aws_access_key_id and aws_secret_access_key/),
  );
  await withFile(
    `aws_access_key_id = K\n${SECRET}\n`,
    (path) => refused(readCredentialsFile(path), /has a line that is not aws_access_key_id/),
  );
  await withFile(
    `aws_access_key_id = K\naws_secret_access_key = ${"x".repeat(20_000)}\n`,
    (path) => refused(readCredentialsFile(path), /is over 16384 bytes/),
  );
  await refused(
    readCredentialsFile("/nonexistent/credentials"),
    /cannot read the S3 credentials file/,
  );
  await refused(
    s3StoreSettings("s3://Bad_Bucket", {}, environment({})),
    /is not a valid bucket name/,
  );
});

Deno.test("an s3:// location needs a database; any other location is a folder", () => {
  assert.throws(() => storageProviderFor("s3://files/team"), /give --database too/);
  assert.throws(() => storageProviderFor("s3://"), /names no bucket/);
  assert.ok(storageProviderFor("./server_storage") instanceof LocalStorageProvider);
  assert.ok(storageProviderFor("gopher://x") instanceof LocalStorageProvider, "an unknown scheme");
});
