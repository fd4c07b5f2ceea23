/**
 * `s3://BUCKET/PREFIX` and its options: what is accepted, how it is
 * normalised, and the error for each kind of bad input.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_REGION,
  formatS3Location,
  MAX_PREFIX_BYTES,
  parseS3Location,
} from "../../../src/storage/object/s3_location.ts";

Deno.test("a location gives its bucket and a prefix without leading or trailing slashes", () => {
  assert.deepEqual(parseS3Location("s3://dfos-files/team/"), {
    bucket: "dfos-files",
    prefix: "team",
    endpoint: undefined,
    region: DEFAULT_REGION,
    pathStyle: false,
  });
  assert.equal(parseS3Location("s3://dfos-files//a/b//").prefix, "a/b");
  assert.equal(parseS3Location("s3://dfos-files").prefix, "");
  assert.equal(parseS3Location("s3://dfos-files/").prefix, "");
  assert.equal(parseS3Location("S3://my.bucket.01/x y/été").prefix, "x y/été");
  assert.equal(formatS3Location(parseS3Location("s3://dfos-files/a/b/")), "s3://dfos-files/a/b");
});

Deno.test("an endpoint is kept as its origin and makes path-style the default", () => {
  const location = parseS3Location("s3://files/p", {
    endpoint: "http://127.0.0.1:7480/",
    region: "eu-west-3",
  });
  assert.deepEqual(
    [location.endpoint, location.region, location.pathStyle],
    ["http://127.0.0.1:7480", "eu-west-3", true],
  );
  const virtualHosted = parseS3Location("s3://files", {
    endpoint: "https://s3.example.net",
    pathStyle: false,
  });
  assert.equal(virtualHosted.pathStyle, false);
  assert.equal(parseS3Location("s3://files", { pathStyle: true }).pathStyle, true);
});

Deno.test("a location that is not s3://BUCKET/PREFIX, or names no bucket, is refused", () => {
  for (const location of ["", "files/team", "http://files/team", "s3:/files", "s3:files"]) {
    assert.throws(() => parseS3Location(location), /is not an s3:\/\/BUCKET\/PREFIX location/);
  }
  for (const location of ["s3://", "s3:///team"]) {
    assert.throws(() => parseS3Location(location), /names no bucket/);
  }
});

Deno.test("a bucket name S3 would refuse is refused with the rule", () => {
  for (
    const bucket of [
      "ab",
      "Files",
      "files_1",
      "-files",
      "files-",
      "a..b",
      "192.168.1.1",
      "f".repeat(64),
      "fi les",
    ]
  ) {
    assert.throws(
      () => parseS3Location(`s3://${bucket}/p`),
      (error: Error) =>
        error instanceof TypeError && error.message.includes("not a valid bucket name"),
      bucket,
    );
  }
});

Deno.test("a prefix with '..', '.', empty segments inside or unsafe characters is refused", () => {
  for (const prefix of ["a/../b", "..", "a/.", "./a", "a/..//b"]) {
    assert.throws(
      () => parseS3Location(`s3://files/${prefix}`),
      /empty, "\." or "\.\." segment/,
      prefix,
    );
  }
  for (const prefix of ["a\nb", "a\\b", "a?b", "a#b", "a%2fb", "tab\there", "a\u007fb"]) {
    assert.throws(() => parseS3Location(`s3://files/${prefix}`), /holds the character/, prefix);
  }
  assert.doesNotThrow(() => parseS3Location(`s3://files/${"p".repeat(MAX_PREFIX_BYTES)}`));
  assert.throws(
    () => parseS3Location(`s3://files/${"é".repeat(MAX_PREFIX_BYTES / 2 + 1)}`),
    /longer than 512 bytes/,
  );
});

Deno.test("an endpoint that is not http(s)://HOST[:PORT] is refused, never echoing a password", () => {
  const refused = (endpoint: string, pattern: RegExp) =>
    assert.throws(() => parseS3Location("s3://files", { endpoint }), pattern, endpoint);
  refused("localhost:7480", /must start with http:\/\/ or https:\/\//);
  refused("127.0.0.1:7480", /is not a URL \(http\(s\):\/\/HOST\[:PORT\]\)/);
  refused("ftp://store", /must start with http/);
  refused("http://store/base", /with no path/);
  refused("http://store/?x=1", /with no path/);
  refused("not a url", /is not a URL/);
  assert.throws(
    () => parseS3Location("s3://files", { endpoint: "http://key:hunter2@store" }),
    (error: Error) =>
      /must not hold credentials/.test(error.message) && !error.message.includes("hunter2"),
  );
  assert.throws(
    () => parseS3Location("s3://files", { endpoint: "http://key:hunter2@[bad" }),
    (error: Error) => /is not a URL/.test(error.message) && !error.message.includes("hunter2"),
  );
});

Deno.test("a region that is not lowercase letters, digits and hyphens is refused", () => {
  for (const region of ["", "EU-WEST-1", "eu west", "eu_west_1", "-eu", "r".repeat(40)]) {
    assert.throws(() => parseS3Location("s3://files", { region }), /is not a valid region/, region);
  }
});
