/**
 * `s3://BUCKET/PREFIX` and its options, checked and turned into the settings
 * of one object store. Bad input fails here, at startup, with a message that
 * says what is wrong, not later as a refused request.
 *
 * @module
 */

/** The options given beside the location (flags, config file or environment). */
export interface S3LocationOptions {
  /** "http(s)://HOST[:PORT]" of a non-AWS store. Default: AWS's endpoint for the region. */
  endpoint?: string;
  /** Default {@link DEFAULT_REGION}. */
  region?: string;
  /** Address buckets as `ENDPOINT/BUCKET` rather than `BUCKET.ENDPOINT`. Default: true with an endpoint. */
  pathStyle?: boolean;
}

/** Where one backend keeps its objects. */
export interface S3Location {
  bucket: string;
  /** Key prefix of every object, without leading or trailing "/"; "" for the whole bucket. */
  prefix: string;
  /** Undefined: AWS's endpoint. */
  endpoint?: string;
  region: string;
  pathStyle: boolean;
}

/** The region when none is given (the one any S3-compatible store accepts). */
export const DEFAULT_REGION = "us-east-1";

/** The longest prefix accepted, in UTF-8 bytes: room is left for keys under it (S3 allows 1024). */
export const MAX_PREFIX_BYTES = 512;

/** S3's bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Region names: lowercase letters, digits and hyphens. */
const REGION_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Characters refused in a prefix: control characters, backslash, and those URLs reserve. */
// deno-lint-ignore no-control-regex
const BAD_PREFIX_CHARACTER = /[\u0000-\u001f\u007f\\?#%{}^`[\]"<>|~]/;

/**
 * Parses `s3://BUCKET/PREFIX` with its options; throws a TypeError naming
 * what is wrong.
 *
 * @example
 * ```ts
 * parseS3Location("s3://dfos-files/team/", { endpoint: "http://127.0.0.1:7480" });
 * // { bucket: "dfos-files", prefix: "team", endpoint: "http://127.0.0.1:7480",
 * //   region: "us-east-1", pathStyle: true }
 * ```
 */
export function parseS3Location(location: string, options: S3LocationOptions = {}): S3Location {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(location);
  if (!match) throw new TypeError(`"${location}" is not an s3://BUCKET/PREFIX location`);
  const bucket = checkBucket(match[1], location);
  const prefix = checkPrefix(match[2] ?? "", location);
  const endpoint = options.endpoint === undefined ? undefined : checkEndpoint(options.endpoint);
  const region = checkRegion(options.region ?? DEFAULT_REGION);
  return {
    bucket,
    prefix,
    endpoint,
    region,
    pathStyle: options.pathStyle ?? endpoint !== undefined,
  };
}

/** The location as written back: `s3://BUCKET/PREFIX`. */
export function formatS3Location(location: Pick<S3Location, "bucket" | "prefix">): string {
  return `s3://${location.bucket}/${location.prefix}`;
}

function checkBucket(bucket: string, location: string): string {
  if (bucket === "") throw new TypeError(`"${location}" names no bucket (s3://BUCKET/PREFIX)`);
  if (!BUCKET_NAME.test(bucket) || bucket.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new TypeError(
      `"${bucket}" is not a valid bucket name: 3 to 63 lowercase letters, digits, dots and ` +
        "hyphens, starting and ending with a letter or digit, not an IP address",
    );
  }
  return bucket;
}

function checkPrefix(raw: string, location: string): string {
  const prefix = raw.replace(/^\/+/, "").replace(/\/+$/, "");
  if (prefix === "") return "";
  const bad = BAD_PREFIX_CHARACTER.exec(prefix);
  if (bad) {
    const shown = JSON.stringify(bad[0]);
    throw new TypeError(`the prefix of "${location}" holds the character ${shown}, not allowed`);
  }
  for (const segment of prefix.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new TypeError(
        `the prefix of "${location}" holds an empty, "." or ".." segment, not allowed`,
      );
    }
  }
  if (new TextEncoder().encode(prefix).length > MAX_PREFIX_BYTES) {
    throw new TypeError(`the prefix of "${location}" is longer than ${MAX_PREFIX_BYTES} bytes`);
  }
  return prefix;
}

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    // Not echoed: a malformed URL may still hold a password.
    throw new TypeError("the endpoint is not a URL (http(s)://HOST[:PORT])");
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(
      "the endpoint must not hold credentials: give the access key and secret as credentials",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`the endpoint "${endpoint}" must start with http:// or https://`);
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    throw new TypeError(
      `the endpoint "${url.origin}${url.pathname}" must be http(s)://HOST[:PORT], with no path`,
    );
  }
  return url.origin;
}

function checkRegion(region: string): string {
  if (!REGION_NAME.test(region)) {
    throw new TypeError(
      `"${region}" is not a valid region: lowercase letters, digits and hyphens`,
    );
  }
  return region;
}
