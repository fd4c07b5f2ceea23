/**
 * The settings of the S3 store a server's `--storage s3://BUCKET/PREFIX`
 * names, from its flags (or config keys) and the standard AWS environment
 * variables: a flag wins over a variable. Credentials come from
 * `--s3-credentials-file` if given, else from AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). No message ever holds a
 * key or a secret.
 *
 * @module
 */

import { parseS3Location } from "./s3_location.ts";
import {
  type S3Credentials,
  type S3EnvironmentVariable,
  s3SettingsFromEnvironment,
  type S3StoreSettings,
} from "./s3_settings.ts";

/** The store's options as flags give them; every field optional. */
export interface S3Config {
  /** `--s3-endpoint`: http(s)://HOST[:PORT]. */
  endpoint?: string;
  /** `--s3-region`. */
  region?: string;
  /** `--s3-path-style`: address buckets as ENDPOINT/BUCKET. Default: with an endpoint. */
  pathStyle?: boolean;
  /** `--s3-credentials-file`: a file with the access key id and the secret access key. */
  credentialsFile?: string;
}

/** Longest credentials file read. */
const MAX_CREDENTIALS_FILE_BYTES = 16 * 1024;

/** The names a credentials file may give each value (as in ~/.aws/credentials, or as variables). */
const CREDENTIAL_NAMES: Record<string, keyof S3Credentials> = {
  aws_access_key_id: "accessKeyId",
  access_key_id: "accessKeyId",
  aws_secret_access_key: "secretAccessKey",
  secret_access_key: "secretAccessKey",
  aws_session_token: "sessionToken",
  session_token: "sessionToken",
};

/**
 * The settings of the store at `location`; rejects with an Error saying what
 * is wrong (the location, an option, missing or unreadable credentials).
 *
 * @example
 * ```ts
 * const settings = await s3StoreSettings("s3://files/team", { endpoint: "http://127.0.0.1:7480" });
 * ```
 */
export async function s3StoreSettings(
  location: string,
  config: S3Config = {},
  read: (name: S3EnvironmentVariable) => string | undefined = (name) => Deno.env.get(name),
): Promise<S3StoreSettings> {
  const environment = s3SettingsFromEnvironment(read);
  const parsed = parseS3Location(location, {
    endpoint: config.endpoint ?? environment.options.endpoint,
    region: config.region ?? environment.options.region,
    pathStyle: config.pathStyle,
  });
  const credentials = config.credentialsFile === undefined
    ? environment.credentials
    : await readCredentialsFile(config.credentialsFile);
  if (credentials === undefined) {
    throw new TypeError(
      "no credentials for the object store: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
        "or give --s3-credentials-file",
    );
  }
  return { ...parsed, credentials };
}

/**
 * Reads `name = value` lines (`#` comments and `[section]` headers ignored):
 * aws_access_key_id, aws_secret_access_key and optionally aws_session_token.
 */
export async function readCredentialsFile(path: string): Promise<S3Credentials> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new Error(`cannot read the S3 credentials file ${path}: ${(error as Error).message}`);
  }
  if (bytes.length > MAX_CREDENTIALS_FILE_BYTES) {
    throw new Error(`the S3 credentials file ${path} is over ${MAX_CREDENTIALS_FILE_BYTES} bytes`);
  }
  const found: Partial<S3Credentials> = {};
  for (const line of new TextDecoder().decode(bytes).split(/\r?\n/)) {
    const text = line.trim();
    if (text === "" || text.startsWith("#") || text.startsWith(";") || text.startsWith("[")) {
      continue;
    }
    const match = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(text);
    const field = match ? CREDENTIAL_NAMES[match[1].toLowerCase()] : undefined;
    if (field === undefined) {
      // The line is not repeated: it may hold a secret.
      throw new Error(
        `the S3 credentials file ${path} has a line that is not aws_access_key_id = …, ` +
          "aws_secret_access_key = … or aws_session_token = …",
      );
    }
    if (match![2] !== "") found[field] = match![2];
  }
  if (found.accessKeyId === undefined || found.secretAccessKey === undefined) {
    throw new Error(
      `the S3 credentials file ${path} must give aws_access_key_id and aws_secret_access_key`,
    );
  }
  return found as S3Credentials;
}
