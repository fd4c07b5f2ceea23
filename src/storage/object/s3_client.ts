/**
 * The AWS SDK's S3 client as DFOS configures it: path-style or not, request
 * checksums only where the operation requires them (stores other than AWS
 * refuse some of the SDK's defaults), timeouts on connecting and on silence,
 * and everything the SDK would look up by itself given, so that it needs no
 * permission beyond the program's.
 *
 * Two transports: requests that send bytes go through `node:http` (the
 * SDK's default); reads that stream bytes back go through `fetch`, whose
 * body arrives in large chunks without a Node stream in between (a 256 MiB
 * download took 40% less of the server's CPU). `fetch` has no timeout of
 * its own on connecting or on silence: the caller's deadline covers the
 * reply's start, and the reader of the body its silences.
 *
 * The bytes of puts and parts are not hashed for the signature
 * (`UNSIGNED-PAYLOAD`) where nothing can change them on the way: over
 * HTTPS (TLS protects them) and to a store on the same machine (loopback).
 * That hash was a second SHA-256 pass over every byte uploaded, besides the
 * one that checks the file: 0.3 s of CPU per 256 MiB, and a third of the
 * parts' throughput here. Over plain HTTP to another machine they are signed.
 *
 * @module
 */

import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import type { S3StoreSettings } from "./s3_settings.ts";

/**
 * Environment variables the AWS SDK reads whatever it is given (as it loads,
 * and as a client is made): the program must be allowed to read these. They
 * concern AWS Lambda and the SDK's own warnings, not the store.
 */
export const AWS_SDK_ENVIRONMENT_VARIABLES = [
  "AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA",
  "AWS_LAMBDA_BENCHMARK_MODE",
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
] as const;

/**
 * Settings the SDK would otherwise look up itself, given here so that it reads
 * no other environment variable, no ~/.aws file and no system information
 * (its default user agent names the OS release).
 */
const SELF_CONTAINED = {
  defaultsMode: "standard",
  retryMode: "standard",
  defaultUserAgentProvider: () => Promise.resolve([["dfos"]]),
  userAgentAppId: "dfos",
  authSchemePreference: [],
  sigv4aSigningRegionSet: [],
  disableS3ExpressSessionAuth: true,
  useArnRegion: false,
  useDualstackEndpoint: false,
  useFipsEndpoint: false,
  disableClockSkewCorrection: false,
} as const satisfies Partial<S3ClientConfig>;

/** The commands whose bodies are a file's bytes. */
const BYTES_COMMANDS: ReadonlySet<string> = new Set(["PutObjectCommand", "UploadPartCommand"]);

/**
 * Whether the bytes sent to the store at `endpoint` (undefined: AWS, over
 * HTTPS) may go without a hash in the signature: over HTTPS, or to
 * loopback.
 *
 * @example
 * ```ts
 * payloadUnsigned("http://127.0.0.1:7480"); // true
 * payloadUnsigned("http://10.0.0.5:7480"); // false
 * ```
 */
export function payloadUnsigned(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return true;
  const url = new URL(endpoint);
  if (url.protocol === "https:") return true;
  const host = url.hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Which transport a client's requests take (see the module's documentation). */
export type S3Transport = "node:http" | "fetch";

/**
 * A client for the store `settings` name, over `transport` (default
 * "node:http"). The caller gives each request its deadline (an abort
 * signal) and destroys the client when done.
 *
 * @example
 * ```ts
 * const client = newS3Client({ bucket: "files", prefix: "", region: "us-east-1",
 *   pathStyle: true, endpoint: "http://127.0.0.1:7480",
 *   credentials: { accessKeyId: "AKID", secretAccessKey: "secret" } });
 * ```
 */
export function newS3Client(
  settings: S3StoreSettings,
  transport: S3Transport = "node:http",
): S3Client {
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.pathStyle,
    credentials: { ...settings.credentials },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: settings.maxAttempts ?? 3,
    requestHandler: transport === "fetch" ? new FetchHttpHandler({ keepAlive: true }) : {
      connectionTimeout: settings.connectTimeoutMs ?? 5_000,
      socketTimeout: settings.idleTimeoutMs ?? 30_000,
    },
    ...SELF_CONTAINED,
  });
  // It reads Lambda's variables on every request, to pass on a trace id DFOS has none of.
  client.middlewareStack.remove("recursionDetectionMiddleware");
  if (payloadUnsigned(settings.endpoint)) {
    // The signer takes a hash already in the headers as the payload's, and skips hashing.
    client.middlewareStack.add((next, context) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (BYTES_COMMANDS.has(context.commandName ?? "") && request.headers) {
        request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
      }
      return next(args);
    }, { step: "build", name: "dfosUnsignedPayload" });
  }
  return client;
}
