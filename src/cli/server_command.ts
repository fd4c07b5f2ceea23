/**
 * `dfos server`: starts the server with logging, stops it gracefully on
 * SIGINT or SIGTERM (exit 0), and exits 1 if it cannot start. Every option
 * can also come from `--config FILE` (config_file_options.ts).
 *
 * @module
 */

import { Command } from "commander";
import {
  DEFAULT_SERVER_CONFIG as DEFAULTS,
  isStorageFolder,
  type ServerConfig,
  type ServerTls,
  stateDirFor,
} from "../server/server_config.ts";
import { byteSize, integerIn, metricsAddress, port, secondsOption } from "./options.ts";
import { DEFAULT_LOGIN_GUARD as LOGIN } from "../server/login_guard.ts";
import { checkInstanceName } from "../discovery/names.ts";
import { InvalidArgumentError } from "commander";
import type { MetricsAddress } from "../metrics/metrics_address.ts";
import type { DatabaseConfig } from "../server/shared_database.ts";
import type { S3Config } from "../storage/object/s3_configuration.ts";
import { serverStatusCommand, serverStopCommand } from "./server_control_command.ts";
import { configuredOptions, printConfig, withConfigFile } from "./config_file_options.ts";

/** Builds the `server` subcommand; `onExit` receives the exit code. */
export function serverCommand(onExit: (code: number) => void): Command {
  const command = new Command("server")
    .description("serve per-user storage folders to DFOS clients")
    // `status` and `stop` take options of the same names: theirs go after them.
    .enablePositionalOptions()
    .addCommand(serverStatusCommand(onExit))
    .addCommand(serverStopCommand(onExit))
    .option("--host <address>", "address to bind", DEFAULTS.host)
    .option("--port <port>", "TCP port (0: any free port)", port, DEFAULTS.port)
    .option(
      "--storage <dir>",
      "folder with one sub-folder per user, or s3://BUCKET/PREFIX (an object store; needs --database)",
      DEFAULTS.storageDir,
    )
    .option("--users <file>", "users file (username:password lines)", DEFAULTS.usersFile)
    .option(
      "--log-dir <dir>",
      "folder for server.log, audit.log, server_performance.log",
      DEFAULTS.logDir,
    )
    .option(
      "--max-clients <n>",
      "sessions served at once",
      integerIn(1, 100_000),
      DEFAULTS.maxClients,
    )
    .option(
      "--max-queue <n>",
      "connections that may wait for a slot",
      integerIn(0, 100_000),
      DEFAULTS.maxQueue,
    )
    .option(
      "--max-sessions-per-user <n>",
      "open sessions per user",
      integerIn(1, 10_000),
      DEFAULTS.maxSessionsPerUser,
    )
    .addOption(
      secondsOption(
        "--shutdown-grace <seconds>",
        "time running transfers get to finish on shutdown",
        DEFAULTS.shutdownGraceMs,
      ),
    )
    .addOption(
      secondsOption(
        "--login-timeout <seconds>",
        "time a client has to send Hello (after connecting) and Auth (after getting a slot)",
        DEFAULTS.loginTimeoutMs,
      ),
    )
    .addOption(
      secondsOption(
        "--idle-timeout <seconds>",
        "close sessions idle this long",
        DEFAULTS.idleTimeoutMs,
      ),
    )
    .addOption(
      secondsOption(
        "--queue-timeout <seconds>",
        "longest wait for a slot",
        DEFAULTS.queueTimeoutMs,
      ),
    )
    .addOption(
      secondsOption(
        "--max-check-wait <seconds>",
        'longest a login waits for its password check; past it "server busy"',
        DEFAULTS.maxCheckWaitMs,
      ),
    )
    .addOption(
      secondsOption(
        "--login-cache <seconds>",
        "remember a password that passed its check this long (an HMAC, never the password)",
        DEFAULTS.loginCacheMs,
      ),
    )
    .option("--no-login-cache", "check every login's password with scrypt")
    .addOption(
      secondsOption(
        "--perf-interval <seconds>",
        "interval of the performance log while busy (one line when it becomes idle)",
        DEFAULTS.performanceIntervalMs,
      ),
    )
    .option(
      "--metrics <host:port>",
      "serve Prometheus metrics (/metrics) and a health check (/healthz) over HTTP, without login",
      metricsAddress,
    )
    .addOption(
      secondsOption(
        "--partial-max-age <seconds>",
        "delete partial uploads untouched this long",
        DEFAULTS.partialMaxAgeMs,
      ),
    )
    .addOption(
      secondsOption(
        "--rescan-interval <seconds>",
        "compare each open user's files with the change journal this often, to find changes made behind the server's back",
        DEFAULTS.rescanIntervalMs,
      ),
    )
    .option(
      "--database <url>",
      "PostgreSQL database for the state several nodes share: postgres://USER@HOST:PORT/NAME",
      databaseUrl,
    )
    .option(
      "--database-password-file <file>",
      "file whose first line is the database's password (else PGPASSWORD, or the URL's)",
    )
    .option(
      "--s3-endpoint <url>",
      "the S3-compatible store of --storage s3://…: http(s)://HOST[:PORT] (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS)",
    )
    .option(
      "--s3-region <region>",
      "its region (else AWS_REGION, AWS_DEFAULT_REGION, or us-east-1)",
    )
    .option(
      "--s3-path-style",
      "address buckets as ENDPOINT/BUCKET even on AWS (always so with --s3-endpoint)",
    )
    .option(
      "--s3-credentials-file <file>",
      "file with aws_access_key_id = … and aws_secret_access_key = … lines (else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    )
    .option(
      "--state-dir <dir>",
      "folder for the TLS key and certificate and the control socket (default: server_state beside the storage)",
    )
    .option("--tls-cert <file>", "certificate (PEM) to use instead of the self-signed one")
    .option("--tls-key <file>", "private key (PEM) of --tls-cert")
    .option("--insecure-no-tls", "serve plain TCP without encryption (clients must agree)")
    .option("--quota <size>", "bytes each user may store, e.g. 10G (default: unlimited)", byteSize)
    .option(
      "--max-file-size <size>",
      "largest file accepted, e.g. 2G (default: unlimited)",
      byteSize,
    )
    .option(
      "--max-login-failures <n>",
      "failed logins for one user before a lockout",
      integerIn(1, 1_000_000),
      LOGIN.maxFailuresPerUser,
    )
    .option(
      "--max-login-failures-per-address <n>",
      "failed logins from one address before a lockout",
      integerIn(1, 1_000_000),
      LOGIN.maxFailuresPerAddress,
    )
    .addOption(secondsOption("--lockout <seconds>", "how long a lockout lasts", LOGIN.lockoutMs))
    .option(
      "--max-unauthenticated <n>",
      "connections that may be logging in at once",
      integerIn(1, 100_000),
      DEFAULTS.maxUnauthenticated,
    )
    .option(
      "--user-rate-limit <rate>",
      "bytes per second per user, e.g. 50M (default: unlimited)",
      byteSize,
    )
    .option(
      "--user-request-rate <n>",
      "requests per second per user (default: unlimited)",
      integerIn(1, 1_000_000),
    )
    .option("--discoverable", "announce the server on the local network (DNS-SD over mDNS)")
    .option(
      "--name <name>",
      "name to announce with --discoverable (default: the host name)",
      instanceName,
    )
    .option("--no-fsync", "do not sync uploads to disk before renaming them into place")
    .option("-q, --quiet", "no log lines on stderr (files only)")
    .option("-v, --verbose", "debug lines on stderr")
    .action(async (_flags, command: Command) => {
      const options = await configuredOptions(command);
      if (options === undefined) return onExit(1);
      if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
        command.error("--tls-cert and --tls-key go together", { exitCode: 2 });
      }
      if (options.name !== undefined && !options.discoverable) {
        command.error("--name is the name --discoverable announces: give both", { exitCode: 2 });
      }
      if (options.databasePasswordFile !== undefined && options.database === undefined) {
        command.error("--database-password-file goes with --database", { exitCode: 2 });
      }
      if (!isStorageFolder(options.storage as string) && options.database === undefined) {
        command.error(
          `--storage ${options.storage} keeps names and folders in PostgreSQL: give --database too`,
          { exitCode: 2 },
        );
      }
      const s3Given = Object.keys(options).some((name) => /^s3[A-Z]/.test(name));
      if (s3Given && isStorageFolder(options.storage as string)) {
        command.error("the --s3-* options go with --storage s3://BUCKET/PREFIX", { exitCode: 2 });
      }
      if (options.printConfig) return onExit(await printConfig(command));
      const { runServer } = await import("./server_run.ts");
      onExit(await runServer(toConfig(options), options));
    });
  // After every other option: each one also gets a key in the config file.
  return withConfigFile(command);
}

/** A `--name` fit to announce; a usage error that says why otherwise. */
function instanceName(value: string): string {
  try {
    return checkInstanceName(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** A postgres:// URL, refused (without repeating it: it may hold a password) otherwise. */
function databaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("not a URL: expected postgres://USER@HOST:PORT/NAME");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new InvalidArgumentError("expected postgres://USER@HOST:PORT/NAME");
  }
  if (url.hostname === "" || url.pathname.length <= 1) {
    throw new InvalidArgumentError(
      "the URL needs a host and a database name: postgres://USER@HOST:PORT/NAME",
    );
  }
  return value;
}

function databaseFrom(options: Record<string, unknown>): DatabaseConfig | undefined {
  if (options.database === undefined) return undefined;
  return {
    url: options.database as string,
    passwordFile: options.databasePasswordFile as string | undefined,
  };
}

function s3From(options: Record<string, unknown>): S3Config | undefined {
  if (isStorageFolder(options.storage as string)) return undefined;
  return {
    endpoint: options.s3Endpoint as string | undefined,
    region: options.s3Region as string | undefined,
    // Path-style when asked, else the location's default (path-style with an endpoint).
    pathStyle: options.s3PathStyle === true ? true : undefined,
    credentialsFile: options.s3CredentialsFile as string | undefined,
  };
}

function tlsFrom(options: Record<string, unknown>, stateDir: string): ServerTls {
  if (options.insecureNoTls) return { kind: "insecure" };
  if (options.tlsCert) {
    return {
      kind: "files",
      certFile: options.tlsCert as string,
      keyFile: options.tlsKey as string,
    };
  }
  return { kind: "state", stateDir };
}

function toConfig(options: Record<string, unknown>): ServerConfig {
  const stateDir = stateDirFor(options.storage as string, options.stateDir as string | undefined);
  return {
    ...DEFAULTS,
    host: options.host as string,
    port: options.port as number,
    storageDir: options.storage as string,
    usersFile: options.users as string,
    logDir: options.logDir as string,
    maxClients: options.maxClients as number,
    maxQueue: options.maxQueue as number,
    maxSessionsPerUser: options.maxSessionsPerUser as number,
    shutdownGraceMs: options.shutdownGrace as number,
    loginTimeoutMs: options.loginTimeout as number,
    idleTimeoutMs: options.idleTimeout as number,
    queueTimeoutMs: options.queueTimeout as number,
    maxCheckWaitMs: options.maxCheckWait as number,
    loginCacheMs: options.loginCache === false ? 0 : options.loginCache as number,
    performanceIntervalMs: options.perfInterval as number,
    metricsAddress: options.metrics as MetricsAddress | undefined,
    partialMaxAgeMs: options.partialMaxAge as number,
    rescanIntervalMs: options.rescanInterval as number,
    database: databaseFrom(options),
    s3: s3From(options),
    fsync: options.fsync as boolean,
    tls: tlsFrom(options, stateDir),
    stateDir,
    quotaBytes: options.quota as number | undefined,
    maxFileBytes: options.maxFileSize as number | undefined,
    userBytesPerSecond: options.userRateLimit as number | undefined,
    userRequestsPerSecond: options.userRequestRate as number | undefined,
    maxUnauthenticated: options.maxUnauthenticated as number,
    discoverable: options.discoverable === true,
    discoveryName: options.name as string | undefined,
    loginGuard: {
      ...LOGIN,
      maxFailuresPerUser: options.maxLoginFailures as number,
      maxFailuresPerAddress: options.maxLoginFailuresPerAddress as number,
      lockoutMs: options.lockout as number,
    },
  };
}
