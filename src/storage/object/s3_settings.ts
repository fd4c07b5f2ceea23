/**
 * Everything an S3 object store is built from: its location, credentials and
 * limits, and how the standard AWS environment variables supply them. The
 * client is always given credentials and region explicitly, so the AWS SDK
 * never looks for them itself (in ~/.aws, or on a cloud's metadata address).
 *
 * @module
 */

import type { S3Location, S3LocationOptions } from "./s3_location.ts";

/** An access key and its secret (and a session token, for temporary keys). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What an {@link S3ObjectStore} needs. */
export interface S3StoreSettings extends S3Location {
  credentials: S3Credentials;
  /** Longest wait for a reply to one request, all its tries (for a read: its first byte), ms. Default 30,000. */
  requestTimeoutMs?: number;
  /** Longest wait to connect, ms. Default 5,000. */
  connectTimeoutMs?: number;
  /** Longest silence while a read's bytes stream, ms. Default 30,000. */
  idleTimeoutMs?: number;
  /** Tries of a request that failed in a way worth retrying (AWS SDK's retry). Default 3. */
  maxAttempts?: number;
}

/** The standard AWS environment variables that {@link s3SettingsFromEnvironment} reads. */
export const S3_ENVIRONMENT_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL",
] as const;

/** One of {@link S3_ENVIRONMENT_VARIABLES}. */
export type S3EnvironmentVariable = typeof S3_ENVIRONMENT_VARIABLES[number];

/** What the environment says of the store; each field only where a variable is set. */
export interface S3EnvironmentSettings {
  options: S3LocationOptions;
  credentials?: S3Credentials;
}

/**
 * The location options and credentials the AWS environment variables give:
 * region from AWS_REGION (else AWS_DEFAULT_REGION), endpoint from
 * AWS_ENDPOINT_URL_S3 (else AWS_ENDPOINT_URL), credentials when both the key
 * and its secret are set. Throws a TypeError when only one of them is.
 *
 * @example
 * ```ts
 * const fromEnvironment = s3SettingsFromEnvironment((name) => Deno.env.get(name));
 * ```
 */
export function s3SettingsFromEnvironment(
  read: (name: S3EnvironmentVariable) => string | undefined,
): S3EnvironmentSettings {
  const value = (name: S3EnvironmentVariable) => {
    const text = read(name);
    return text === undefined || text === "" ? undefined : text;
  };
  const options: S3LocationOptions = {};
  const region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION");
  const endpoint = value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL");
  if (region !== undefined) options.region = region;
  if (endpoint !== undefined) options.endpoint = endpoint;
  const accessKeyId = value("AWS_ACCESS_KEY_ID");
  const secretAccessKey = value("AWS_SECRET_ACCESS_KEY");
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new TypeError(
      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together, or neither",
    );
  }
  if (accessKeyId === undefined || secretAccessKey === undefined) return { options };
  const sessionToken = value("AWS_SESSION_TOKEN");
  return {
    options,
    credentials: sessionToken === undefined
      ? { accessKeyId, secretAccessKey }
      : { accessKeyId, secretAccessKey, sessionToken },
  };
}
