/**
 * The Deno permissions DFOS runs with: the binary is compiled with exactly
 * these flags, the `./dfos` launcher runs main.ts with them, and so do the
 * end-to-end tests, so the binary, the launcher and the tests agree
 * (tests/cli/permissions_test.ts keeps the launcher in step).
 *
 * - read, write: the server's storage, users file and logs; the client's
 *   local files for get/put. A file tool must reach any path its user names.
 * - net: listening (server) and connecting (client).
 * - env: only the variables DFOS and its libraries read (`PG*`: those of
 *   PostgreSQL, which the database driver reads; `AWS_*`: the standard AWS
 *   ones an `s3://` storage reads, and the three the AWS SDK reads itself).
 * - sys: only the host name and the list of network interfaces, which
 *   discovery needs (`dfos server --discoverable`, `dfos discover`).
 *
 * No subprocesses, FFI or other system information.
 *
 * @module
 */

/** Environment variables DFOS reads. */
export const ENVIRONMENT_VARIABLES = [
  "DFOS_USER",
  "DFOS_PASSWORD",
  "HOME",
  "XDG_CONFIG_HOME",
  "XDG_STATE_HOME",
  "USER",
  "LOGNAME",
  // Read by commander to decide on colored help.
  "NO_COLOR",
  "FORCE_COLOR",
  "CLICOLOR_FORCE",
  // PostgreSQL's own (PGPASSWORD, PGSSLMODE, …): the database driver of `--database` reads them.
  "PG*",
  // AWS's own: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
  // AWS_DEFAULT_REGION, AWS_ENDPOINT_URL(_S3) for `--storage s3://` (s3_settings.ts), and
  // the three the SDK reads whatever it is given (AWS_SDK_ENVIRONMENT_VARIABLES, s3_client.ts).
  "AWS_*",
] as const;

/** System information DFOS reads: the host name and the interfaces that discovery uses. */
export const SYSTEM_INFORMATION = ["hostname", "networkInterfaces"] as const;

/**
 * V8's settings for the program: a young generation of at most 4 MiB per
 * semi-space (V8 lets it grow to 16 MiB) keeps short-lived garbage, such as
 * the entries of a scanned tree, from raising the resident memory: a re-sync
 * of 20,000 files peaked at about 130 MB with the default, about 107 MB so.
 */
export const V8_FLAGS = ["--max-semi-space-size=4"] as const;

/** The permission flags, in the order they appear in `./dfos`. */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  `--allow-env=${ENVIRONMENT_VARIABLES.join(",")}`,
  `--allow-sys=${SYSTEM_INFORMATION.join(",")}`,
];

/** Everything the program runs with: the permissions, then V8's settings (one flag). */
export const RUNTIME_FLAGS: readonly string[] = [
  ...PERMISSION_FLAGS,
  `--v8-flags=${V8_FLAGS.join(",")}`,
];
